// Editing a graph document verb by verb (`ganglion edit`): each verb changes the document in place
// and says what it did; the caller validates the result before writing it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ganglion {

class PluginRegistry;

/// A graph document that keeps its keys in file order, so that rewriting it changes only what
/// an edit touched.
using GraphDocument = nlohmann::ordered_json;

/// A new graph with no modules, nodes or phases yet.
GraphDocument new_graph_document(const std::string& name, const std::string& schema = {});

struct EditResult {
  std::string summary;  ///< one line: what changed
};

/// Applies `words` (a verb and its arguments, see edit_verbs_help()) to `document`. Params not
/// given start at the contract's defaults; `force` lets `remove` cut what depends on the removed
/// entry. Throws UserError with a one-line reason for an unknown verb, a missing name, a bad
/// argument, or a removal that would leave references dangling without `force`.
EditResult apply_edit(GraphDocument& document, const std::vector<std::string>& words,
                      const PluginRegistry& registry, bool force);

/// The verbs and their arguments, for --help.
std::string edit_verbs_help();

/// What may come next at the cursor of the interactive prompt: verbs, node types, node and module
/// names, ports (`node.port`), params (`key=`), phase names. `words` are the complete words before
/// the cursor, `partial` the word being typed; the result holds the candidates that start with it.
std::vector<std::string> edit_completions(const GraphDocument& document, const PluginRegistry& registry,
                                          const std::vector<std::string>& words, const std::string& partial);

/// Splits a prompt line into words: spaces separate, single or double quotes group.
std::vector<std::string> split_edit_line(const std::string& line);

/// Writes the document as `ganglion edit` does: two-space indent, keys in document order, a final
/// newline, atomically.
void write_graph_document(const std::string& path, const GraphDocument& document);

}  // namespace ganglion
