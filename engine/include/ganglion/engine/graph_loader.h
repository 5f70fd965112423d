// Turning a graph file into a validated Graph, reporting every problem found at once.
#pragma once

#include <string>
#include <vector>

#include "ganglion/engine/graph.h"
#include "ganglion/engine/user_error.h"

namespace ganglion {

class PluginRegistry;
struct RegisteredType;

/// The data folder `${data}` stands for in string params: $GANGLION_DATA, else the build's
/// data cache (the one scripts/setup.sh fills).
std::string data_folder();

/// Whether `name` may name a module or node: letters, digits, _ and -, starting with a letter or _
/// (a "." would be read as a port). The loader and `ganglion edit` both hold names to this.
bool valid_graph_name(const std::string& name);

/// Reads `path`, merges the fragments its "include" names and then `includes` (see
/// expand_includes), applies `overrides` (`path=value`, see apply_override), and validates the
/// result against the registry's contracts. Throws UserError listing every problem, each with the
/// file (the fragment's, for what a fragment added) and the JSON path.
Graph load_graph(const std::string& path, const std::vector<std::string>& overrides,
                 const PluginRegistry& registry, const std::vector<std::string>& includes = {});

/// How much a graph must have: a runnable one, or one still being built (`ganglion edit`), where a
/// missing "nodes" or "phases" and unconnected required inputs are things left to do, not errors.
enum class Completeness { Runnable, UnderConstruction };

/// As load_graph, from an already parsed document (`file` names it in messages). Under
/// construction, what is left to do goes to `unfinished`.
Graph build_graph(nlohmann::json document, const std::string& file, const PluginRegistry& registry,
                  Completeness completeness = Completeness::Runnable,
                  std::vector<Diagnostic>* unfinished = nullptr);

/// One node entry on its own, as a graph's "nodes" or "modules" section holds it:
/// {"type": T, "params": {...}}. What the node runner makes a node from.
struct CheckedNodeEntry {
  const RegisteredType* type = nullptr;
  Params params;
};

/// Checks a lone node entry against its type's contract exactly as a graph's entry is checked
/// (unknown type, param names, types and ranges, every problem at once), with `file` and the JSON
/// path inside the entry in each message. `inputs` names the input ports that will be connected:
/// each must be one of the contract's, and a port group's members get their params. Any kind but a
/// layer. Throws UserError.
CheckedNodeEntry check_node_entry(const nlohmann::json& entry, const std::string& file,
                                  const PluginRegistry& registry, const std::vector<std::string>& inputs);

}  // namespace ganglion
