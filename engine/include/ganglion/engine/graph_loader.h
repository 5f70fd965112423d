// Turning a graph file into a validated Graph, reporting every problem found at once.
#pragma once

#include <string>
#include <vector>

#include "ganglion/engine/graph.h"

namespace ganglion {

class PluginRegistry;

/// The data folder `${data}` stands for in string params: $GANGLION_DATA, else the build's
/// data cache (the one scripts/setup.sh fills).
std::string data_folder();

/// Reads `path`, applies `overrides` (`path=value`, see apply_override), and validates the result
/// against the registry's contracts. Throws UserError listing every problem, each with the file
/// and the JSON path.
Graph load_graph(const std::string& path, const std::vector<std::string>& overrides,
                 const PluginRegistry& registry);

/// As load_graph, from an already parsed document (`file` names it in messages).
Graph build_graph(nlohmann::json document, const std::string& file, const PluginRegistry& registry);

}  // namespace ganglion
