#include "ganglion/engine/graph_include.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "ganglion/engine/json_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace ganglion {

std::string IncludedParts::file_of(const std::string& pointer) const {
  for (const auto& [prefix, file] : parts_)
    if (pointer == prefix || pointer.rfind(prefix + "/", 0) == 0) return file;
  return {};
}

UserError IncludedParts::relocate(const UserError& error) const {
  std::vector<Diagnostic> out = error.diagnostics();
  for (auto& d : out)
    if (const std::string file = file_of(d.pointer); !file.empty() && d.file == graph_file_) d.file = file;
  return UserError(std::move(out));
}

IncludedParts expand_includes(json& document, const std::string& file,
                              const std::vector<std::string>& extra) {
  IncludedParts parts(file);
  if (!document.is_object()) return parts;  // the loader reports that
  Diagnostics diags(file);
  std::vector<std::string> fragments;
  if (document.contains("include")) {
    const json& list = document["include"];
    if (!list.is_array()) {
      diags.error("/include", "expected a list of fragment files, e.g. [\"probes/mnist-quality.json\"]");
    } else {
      const fs::path folder = fs::path(file).parent_path();
      for (size_t i = 0; i < list.size(); ++i) {
        if (!list[i].is_string()) {
          diags.error("/include/" + std::to_string(i), "expected a file name");
          continue;
        }
        const fs::path p = list[i].get<std::string>();
        fragments.push_back((p.is_absolute() ? p : folder / p).lexically_normal().string());
      }
    }
    document.erase("include");
  }
  diags.throw_if_any();
  for (const auto& e : extra) {
    // The same file named twice (in the graph and on the command line) is merged once.
    const std::string normal = fs::path(e).lexically_normal().string();
    if (std::find(fragments.begin(), fragments.end(), normal) == fragments.end()) fragments.push_back(normal);
  }

  // Which file each entry (by its JSON pointer) came from, for "already in ..." messages.
  std::map<std::string, std::string> owner;
  for (const char* section : {"modules", "nodes", "outputs"})
    if (document.contains(section) && document[section].is_object())
      for (const auto& [name, value] : document[section].items()) owner[json_pointer({section, name})] = file;

  std::vector<Diagnostic> problems;
  for (const std::string& fragment_file : fragments) {
    json fragment;
    try {
      fragment = load_json_file(fragment_file);
    } catch (const UserError& e) {
      for (const auto& d : e.diagnostics()) problems.push_back(d);
      continue;
    }
    if (!fragment.is_object()) {
      problems.push_back(
          {fragment_file, "", "a graph fragment is a JSON object of modules, nodes and outputs"});
      continue;
    }
    for (const auto& [key, value] : fragment.items()) {
      if (key == "$schema" || key == "description" || key == "doc") continue;
      if (key == "include") {
        problems.push_back(
            {fragment_file, "/include", "a fragment cannot include others; list them all in the graph"});
        continue;
      }
      if (key != "modules" && key != "nodes" && key != "outputs") {
        problems.push_back(
            {fragment_file, json_pointer({key}),
             "a fragment holds only modules, nodes and outputs (and a description), not \"" + key + "\""});
        continue;
      }
      if (!value.is_object()) {
        problems.push_back({fragment_file, "/" + key, "expected an object"});
        continue;
      }
      json& target = document[key];
      if (target.is_null()) target = json::object();
      if (!target.is_object()) {
        problems.push_back(
            {file, "/" + key, "expected an object, so that " + fragment_file + " can add to it"});
        continue;
      }
      for (const auto& [name, entry] : value.items()) {
        const std::string pointer = json_pointer({key, name});
        if (auto it = owner.find(pointer); it != owner.end()) {
          problems.push_back({fragment_file, pointer,
                              "\"" + name + "\" is already in " + key + " of " + it->second +
                                  (key == "outputs" ? ": keep it in one of them" : ": rename one of them")});
          continue;
        }
        owner[pointer] = fragment_file;
        target[name] = entry;
        parts.add(pointer, fragment_file);
      }
    }
  }
  if (!problems.empty()) throw UserError(std::move(problems));
  return parts;
}

}  // namespace ganglion
