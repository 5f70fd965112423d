#include "ganglion/engine/json_file.h"

#include <fstream>
#include <sstream>

#include "ganglion/engine/user_error.h"

namespace ganglion {

namespace {

/// Line and column (1-based) of a byte offset.
std::pair<size_t, size_t> line_column(const std::string& text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return {line, col};
}

/// Nesting depth of arrays and objects, outside strings; stops counting past the limit.
size_t nesting_depth_offset(const std::string& text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string::npos;
}

bool looks_binary(const std::string& text) {
  for (unsigned char c : text.substr(0, 4096))
    if (c == 0 || (c < 0x09) || (c > 0x0d && c < 0x20)) return true;
  return false;
}

}  // namespace

nlohmann::json parse_json_text(const std::string& text, const std::string& file) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw UserError(file, "", "the file is empty: a graph file is a JSON object");
  if (looks_binary(text))
    throw UserError(file, "", "this is not a text file (it holds binary bytes): expected JSON");
  const size_t deep = nesting_depth_offset(text);
  if (deep != std::string::npos) {
    auto [line, col] = line_column(text, deep);
    throw UserError(file, "",
                    "line " + std::to_string(line) + ", column " + std::to_string(col) +
                        ": nesting deeper than " + std::to_string(kMaxJsonDepth) +
                        " levels: this is not a graph file");
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    auto [line, col] = line_column(text, e.byte == 0 ? 0 : e.byte - 1);
    std::string what = e.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at line 1, column 2: X";
    // keep X only, since the line and column are given our way.
    const auto colon = what.find(": ", what.find("parse error"));
    if (colon != std::string::npos) what = what.substr(colon + 2);
    throw UserError(
        file, "",
        "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + what);
  } catch (const nlohmann::json::exception& e) {
    // A number too large for a double (1e999) is not a parse_error in nlohmann's terms.
    std::string what = e.what();
    const auto bracket = what.find("] ");
    throw UserError(file, "",
                    "invalid JSON: " + (bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
}

std::string read_user_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UserError(path, "", "cannot open the file (does it exist?)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw UserError(path, "", "cannot read the file");
  return buffer.str();
}

nlohmann::json load_json_file(const std::string& path) { return parse_json_text(read_user_file(path), path); }

std::string json_pointer(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) {
    out += '/';
    for (char c : p) {
      if (c == '~')
        out += "~0";
      else if (c == '/')
        out += "~1";
      else
        out += c;
    }
  }
  return out;
}

void apply_override(nlohmann::json& document, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UserError("--set " + assignment + ": expected PATH=VALUE, e.g. nodes.batch.params.batch=32");
  std::string path = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  std::vector<std::string> parts;
  const char sep = path[0] == '/' ? '/' : '.';
  std::string part;
  std::istringstream in(path[0] == '/' ? path.substr(1) : path);
  while (std::getline(in, part, sep)) {
    if (part.empty()) throw UserError("--set " + assignment + ": empty name in path \"" + path + "\"");
    parts.push_back(part);
  }
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    value = text;
  }
  nlohmann::json* at = &document;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (at->is_array()) {
      size_t index = 0;
      try {
        index = std::stoul(parts[i]);
      } catch (...) {
        throw UserError("--set " + assignment + ": " + json_pointer({parts.begin(), parts.begin() + i}) +
                        " is a list: use a number, not \"" + parts[i] + "\"");
      }
      if (index >= at->size())
        throw UserError("--set " + assignment + ": " + json_pointer({parts.begin(), parts.begin() + i}) +
                        " has only " + std::to_string(at->size()) + " entries");
      at = &(*at)[index];
    } else if (at->is_object() || at->is_null()) {
      at = &(*at)[parts[i]];
    } else {
      throw UserError("--set " + assignment + ": " + json_pointer({parts.begin(), parts.begin() + i}) +
                      " is a value, not an object");
    }
  }
  *at = value;
}

}  // namespace ganglion
