#include "ganglion/engine/graph_loader.h"

#include "document/loader.h"

namespace ganglion {

bool valid_graph_name(const std::string& name) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_-]*");
  return std::regex_match(name, re);
}

std::string data_folder() {
  if (const char* env = std::getenv("GANGLION_DATA"); env && *env) return env;
  return GANGLION_DEFAULT_DATA_DIR;
}

namespace loading {

std::string type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "a list";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_float:
      return "a number";
    default:
      return "an integer";
  }
}

/// Every module that `node` applies or reads, directly or not, the output of.
std::set<int> modules_upstream(const Graph& g, int node) {
  std::set<int> out;
  std::vector<char> seen(g.nodes.size(), 0);
  std::vector<int> stack{node};
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    if (seen[v]) continue;  // also ends the walk on a cycle, which is reported elsewhere
    seen[v] = 1;
    if (g.nodes[v].module >= 0) out.insert(g.nodes[v].module);
    for (const auto& [port, ref] : g.nodes[v].inputs) stack.push_back(ref.node);
  }
  return out;
}

bool influences(const Graph& g, int module, int node) { return modules_upstream(g, node).count(module) > 0; }

std::string quote(const std::string& s) { return "\"" + s + "\""; }

std::string list_names(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out.empty() ? "none" : out;
}

/// "no optimizer "X" (did you mean "Y"?); declared: ...", for a name that none of a section's
/// entries has.
std::string no_such(const std::string& what, const std::string& name, const std::vector<std::string>& names,
                    const std::string& section) {
  return "no " + what + " " + quote(name) + did_you_mean(name, names) +
         (names.empty() ? "; the graph declares none under " + quote(section)
                        : "; declared: " + list_names(names));
}

const RegisteredType* Loader::find_type(const std::string& type, const std::string& pointer, NodeKind wanted,
                                        bool module_entry) {
  const RegisteredType* t = registry_.find(type);
  if (!t) {
    diags_.error(pointer, "unknown node type " + quote(type) + did_you_mean(type, registry_.type_names()) +
                              " (`ganglion plugins` lists the loaded types)");
    return nullptr;
  }
  const NodeKind kind = t->contract.kind();
  if (kind == NodeKind::Layer) {
    diags_.error(pointer, quote(type) + " is a layer (family " + t->contract.layer_family() +
                              "): name it in a network's param of that family, e.g. \"params\": {\"" +
                              t->contract.layer_family() + "\": " + quote(type) + "}");
    return nullptr;
  }
  if (module_entry && kind != NodeKind::Module) {
    diags_.error(pointer,
                 quote(type) + " is a " + to_string(kind) + ", not a module: declare it under \"nodes\"");
    return nullptr;
  }
  if (!module_entry && kind == NodeKind::Module) {
    diags_.error(pointer, quote(type) +
                              " is a module: declare it under \"modules\" and apply it with "
                              "{\"apply\": \"NAME\"}");
    return nullptr;
  }
  if (wanted == NodeKind::Writer && kind != NodeKind::Writer) {
    diags_.error(pointer, quote(type) + " is a " + to_string(kind) + ", not a writer");
    return nullptr;
  }
  if (!module_entry && wanted != NodeKind::Writer && kind == NodeKind::Writer) {
    diags_.error(pointer, quote(type) + " is a writer: use it under \"outputs\"");
    return nullptr;
  }
  return t;
}

std::string Loader::substitute(const std::string& text, const std::string& pointer) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const auto start = text.find("${", i);
    if (start == std::string::npos) {
      out += text.substr(i);
      break;
    }
    const auto end = text.find('}', start);
    if (end == std::string::npos) {
      diags_.error(pointer, "unterminated ${ in " + quote(text));
      return text;
    }
    out += text.substr(i, start - i);
    const std::string var = text.substr(start + 2, end - start - 2);
    if (var == "data")
      out += data_folder();
    else if (var == "graph_dir")
      out += graph_dir_;
    else {
      diags_.error(pointer, "unknown variable ${" + var + "}: use ${data} or ${graph_dir}");
      return text;
    }
    i = end + 1;
  }
  return out;
}

Graph Loader::build(json document) {
  Graph g;
  g.file = file_;
  if (!document.is_object()) {
    diags_.error("", "a graph file is a JSON object, but this one holds " + type_name(document));
    diags_.throw_if_any();
  }
  check_keys(document, "",
             {"$schema", "ganglion", "name", "description", "seed", "steps", "schedules", "modules", "nodes",
              "optimizers", "phases", "outputs", "include"});
  // load_graph merges and removes "include"; whoever builds a graph from its document alone
  // (ganglion edit) would check it without its fragments, so it refuses instead.
  if (document.contains("include"))
    diags_.error("/include",
                 "fragments are merged only when a graph is loaded from its file (run, eval, validate...); "
                 "this command works on the file alone: remove \"include\" while editing, or edit the "
                 "fragment itself");
  if (!document.contains("ganglion"))
    diags_.error("", "missing field \"ganglion\": the format version, 1");
  else if (document["ganglion"] != 1)
    diags_.error("/ganglion", "format version " + document["ganglion"].dump() +
                                  " is not supported; this engine reads version 1");
  if (const std::string* name = string_field(document, "name", "", false))
    g.name = *name;
  else
    g.name = fs::path(file_).stem().string();
  g.seed = static_cast<std::uint64_t>(integer_field(document, "seed", "", 1, 0));
  g.steps = integer_field(document, "steps", "", g.steps, 1);
  // Schedules first: modules and nodes name them.
  if (document.contains("schedules")) load_schedules(document["schedules"], g);
  if (document.contains("modules")) load_modules(document["modules"], g);
  if (!document.contains("nodes"))
    unfinished("", "missing field \"nodes\"");
  else if (!document["nodes"].is_object())
    diags_.error("/nodes", "expected an object of nodes, found " + type_name(document["nodes"]));
  else {
    declare_nodes(document["nodes"], g);
    resolve_inputs(document["nodes"], g);
  }
  const bool nodes_ok = diags_.empty();
  if (nodes_ok) {
    try {
      topological_order(g);
    } catch (const UserError& e) {
      for (const auto& d : e.diagnostics()) diags_.error(d.pointer, d.message);
    }
  }
  if (document.contains("optimizers")) load_named_optimizers(document["optimizers"], g);
  if (!document.contains("phases"))
    unfinished("", "missing field \"phases\"");
  else
    load_phases(document["phases"], g, document.contains("nodes") && document["nodes"].is_object());
  if (diags_.empty() && document.contains("phases") && document["phases"].is_array()) {
    attach_optimizers(document["phases"], g);
    // A graph still without phases is being built: nothing trains anything yet.
    if (diags_.empty() && !g.phases.empty()) warn_about_training(g);
  }
  if (document.contains("outputs")) load_outputs(document["outputs"], g);
  diags_.throw_if_any();
  g.document = std::move(document);
  return g;
}

void Loader::unfinished(const std::string& pointer, const std::string& message) {
  if (completeness_ == Completeness::Runnable)
    diags_.error(pointer, message);
  else
    todo_.push_back({file_, pointer, message});
}

}  // namespace loading

using loading::Loader;

Graph build_graph(json document, const std::string& file, const PluginRegistry& registry,
                  Completeness completeness, std::vector<Diagnostic>* unfinished) {
  Loader loader(file, registry, completeness);
  Graph g = loader.build(std::move(document));
  if (unfinished) *unfinished = loader.todo_;
  return g;
}

CheckedNodeEntry check_node_entry(const json& entry, const std::string& file, const PluginRegistry& registry,
                                  const std::vector<std::string>& inputs) {
  Loader loader(file, registry, Completeness::Runnable);
  return loader.check_entry(entry, inputs);
}

Graph load_graph(const std::string& path, const std::vector<std::string>& overrides,
                 const PluginRegistry& registry, const std::vector<std::string>& includes) {
  json document = load_json_file(path);
  // Fragments first, so that --set reaches what they add too.
  const IncludedParts parts = expand_includes(document, path, includes);
  for (const auto& o : overrides) apply_override(document, o);
  try {
    return build_graph(std::move(document), path, registry);
  } catch (const UserError& e) {
    throw parts.relocate(e);
  }
}

}  // namespace ganglion
