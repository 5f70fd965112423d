// A JSON Schema (draft-07) of graph files, generated from the loaded contracts, so that an editor
// validates and completes graph files: node types as enums, each type's params with their types,
// defaults, ranges and docs.
#pragma once

#include <nlohmann/json.hpp>

namespace ganglion {

class PluginRegistry;

nlohmann::json graph_schema(const PluginRegistry& registry);

}  // namespace ganglion
