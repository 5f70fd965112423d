// Errors a user can cause (bad graph, missing file, bad flag): collected with the file and JSON
// path they concern, reported together, and turned into exit code 2 by the CLI.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace ganglion {

struct Diagnostic {
  std::string file;     ///< "" when not about a file
  std::string pointer;  ///< JSON pointer into the file, "" for the whole file
  std::string message;

  /// "file: /pointer: message", leaving out the empty parts.
  std::string format() const;
};

/// Collects every problem found, so the user sees them all at once.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file = {}) : file_(std::move(file)) {}
  void error(std::string pointer, std::string message);
  bool empty() const { return items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  /// Throws UserError carrying everything collected, if anything was.
  void throw_if_any() const;

 private:
  std::string file_;
  std::vector<Diagnostic> items_;
};

class UserError : public std::runtime_error {
 public:
  explicit UserError(std::vector<Diagnostic> diagnostics);
  explicit UserError(std::string message);
  UserError(std::string file, std::string pointer, std::string message);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

/// The names in `candidates` closest to `name` by edit distance, best first (at most 3).
std::vector<std::string> closest_names(const std::string& name, const std::vector<std::string>& candidates);
/// " (did you mean "a" or "b"?)", or "" when nothing is close.
std::string did_you_mean(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace ganglion
