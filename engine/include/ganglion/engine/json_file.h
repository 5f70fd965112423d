// Reading JSON files that users write, with errors a user can act on.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ganglion {

/// Deepest nesting accepted in a graph file; deeper files are refused before parsing.
constexpr int kMaxJsonDepth = 64;

/// Parses `text` (the contents of `file`); throws UserError with the line and column on invalid
/// JSON, and on empty, binary or absurdly nested input.
nlohmann::json parse_json_text(const std::string& text, const std::string& file);

/// Reads and parses a file; throws UserError when it cannot be read or parsed.
nlohmann::json load_json_file(const std::string& path);

/// The bytes of a file a user named; throws UserError when it cannot be read.
std::string read_user_file(const std::string& path);

/// Applies one `--set path=value` override. The path uses dots or slashes
/// ("nodes.batch.params.batch" or "/nodes/batch/params/batch"); the value is parsed as JSON when
/// it is valid JSON and taken as a string otherwise. Throws UserError naming the override.
void apply_override(nlohmann::json& document, const std::string& assignment);

/// "/a/b" from {"a","b"}, escaping as RFC 6901 says.
std::string json_pointer(const std::vector<std::string>& parts);

}  // namespace ganglion
