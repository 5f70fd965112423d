// Graph fragments: a file of modules, nodes and outputs merged into a graph, such as a quality
// probe (a trained classifier and metric nodes reading the graph's "fake" and "batch") that any
// MNIST graph can take without a copy of its own.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "ganglion/engine/user_error.h"

namespace ganglion {

/// Which parts of a merged graph came from which fragment file.
class IncludedParts {
 public:
  explicit IncludedParts(std::string graph_file) : graph_file_(std::move(graph_file)) {}
  void add(std::string pointer, std::string file) {
    parts_.emplace_back(std::move(pointer), std::move(file));
  }
  /// The fragment a JSON pointer of the merged graph lies in ("" when it is the graph's own).
  std::string file_of(const std::string& pointer) const;
  /// `error` with each problem the graph's file was blamed for, but which lies inside an included
  /// part, reported against the fragment's file instead.
  UserError relocate(const UserError& error) const;

 private:
  std::string graph_file_;
  std::vector<std::pair<std::string, std::string>> parts_;
};

/// Merges into `document` (read from `file`) the fragments its "include" list names (paths
/// relative to `file`'s folder), then those in `extra` (paths as given, e.g. from --include), and
/// drops "include". A fragment holds "modules", "nodes" and "outputs" (and "description"); a name
/// the graph or an earlier fragment already has is an error naming both files, as are unknown
/// keys and fragments that include others. Throws UserError listing every problem.
IncludedParts expand_includes(nlohmann::json& document, const std::string& file,
                              const std::vector<std::string>& extra);

}  // namespace ganglion
