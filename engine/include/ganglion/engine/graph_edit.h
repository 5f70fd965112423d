// Editing a graph document verb by verb (`ganglion edit`): each verb changes the document in place
// and says what it did; the caller validates the result before writing it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ganglion {

/// A graph document that keeps its keys in file order, so that rewriting it changes only what
/// an edit touched.
using GraphDocument = nlohmann::ordered_json;

/// A new graph with no modules, nodes or phases yet.
GraphDocument new_graph_document(const std::string& name, const std::string& schema = {});

struct EditResult {
  std::string summary;  ///< one line: what changed
};

/// What a verb's argument is, for completion: a new name, an existing node or module, a type...
/// The last kind of a verb stands for every word after it too.
enum class EditArg {
  NewName,
  ModuleType,
  NodeTypeOrModule,
  ParamsOfType,  ///< PARAM= of the type (or module) named by word 2, and in.PORT= for a node
  NodeOrModule,
  ParamsOfEntry,  ///< PARAM= of the node or module named by word 1 (in.PORT= for a node)
  OutputRef,
  InputRef,
  Module,
  Phase,
  PhaseSettings,
  PhaseChanges,  ///< PhaseSettings, and minimize=, update=
  OutputSection,
  OutputSettings,
  GraphSettings,
};

class PluginRegistry;

/// One verb of `ganglion edit`: declared once, with what its arguments are (for usage messages,
/// --help and completion, which the CLI makes from this table) and what it does.
struct EditVerb {
  const char* name;
  const char* usage;  ///< its arguments, "NAME TYPE [P=V...]"
  const char* help;   ///< what it does, one sentence
  size_t min_words;   ///< words it needs, the verb included
  std::vector<EditArg> args;
  /// Changes the document; throws UserError with a one-line reason.
  EditResult (*apply)(GraphDocument& document, const std::vector<std::string>& words,
                      const PluginRegistry& registry, bool force);
};

/// Every verb, in the order --help lists them.
const std::vector<EditVerb>& edit_verbs();

/// The verb named `name`, or null.
const EditVerb* find_edit_verb(const std::string& name);

/// Applies `words` (a verb and its arguments, see edit_verbs()) to `document`. Params not given
/// start at the contract's defaults; `force` lets `remove` cut what depends on the removed entry.
/// Throws UserError with a one-line reason for an unknown verb, a missing name, a bad argument, or
/// a removal that would leave references dangling without `force`.
EditResult apply_edit(GraphDocument& document, const std::vector<std::string>& words,
                      const PluginRegistry& registry, bool force);

/// Splits a prompt line into words: spaces separate, single or double quotes group.
std::vector<std::string> split_edit_line(const std::string& line);

/// Writes the document as `ganglion edit` does: two-space indent, keys in document order, a final
/// newline, atomically.
void write_graph_document(const std::string& path, const GraphDocument& document);

}  // namespace ganglion
