// What `ganglion edit` tells a person about its verbs: the --help text and the prompt's Tab
// completion, both made from the engine's verb table (ganglion/engine/graph_edit.h).
#pragma once

#include <string>
#include <vector>

#include "ganglion/engine/graph_edit.h"

namespace ganglion {

/// The verbs and their arguments, for --help and the prompt's `help`.
std::string edit_verbs_help();

/// What may come next at the cursor of the interactive prompt: verbs, node types, node and module
/// names, ports (`node.port`), params (`key=`), phase names. `words` are the complete words before
/// the cursor, `partial` the word being typed; the result holds the candidates that start with it.
std::vector<std::string> edit_completions(const GraphDocument& document, const PluginRegistry& registry,
                                          const std::vector<std::string>& words, const std::string& partial);

}  // namespace ganglion
