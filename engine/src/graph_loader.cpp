#include "ganglion/engine/graph_loader.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <regex>
#include <set>

#include "ganglion/engine/build_config.h"
#include "ganglion/engine/graph_include.h"
#include "ganglion/engine/json_file.h"
#include "ganglion/engine/node_order.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace ganglion {

const Contract& NodeEntry::contract() const { return type->contract; }

bool NodeEntry::is_metric() const { return type && kind() == NodeKind::Function && contract().is_metric(); }

int OptimizerEntry::group_of(int m) const {
  for (size_t i = 0; i < groups.size(); ++i)
    if (groups[i].module == m) return static_cast<int>(i);
  return -1;
}

bool PhaseSpec::updates(int m) const {
  for (const auto& u : update)
    if (u.module == m) return true;
  return false;
}

int Graph::find_node(const std::string& n) const {
  for (size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].name == n) return static_cast<int>(i);
  return -1;
}

int Graph::find_schedule(const std::string& n) const {
  for (size_t i = 0; i < schedules.size(); ++i)
    if (schedules[i].name == n) return static_cast<int>(i);
  return -1;
}

double ScheduleSpec::at(std::int64_t step, std::int64_t images) const {
  const double x = by_images ? double(images) : double(step);
  if (points.empty()) return 0.0;
  if (x <= points.front().first) return points.front().second;
  for (size_t i = 1; i < points.size(); ++i) {
    const auto& [x1, y1] = points[i];
    if (x < x1) {
      const auto& [x0, y0] = points[i - 1];
      return stepwise ? y0 : y0 + (y1 - y0) * (x - x0) / (x1 - x0);
    }
  }
  return points.back().second;
}

const SamplesSpec* Graph::find_samples(const std::string& n) const {
  for (const auto& s : outputs.samples)
    if (n.empty() || s.name == n) return &s;
  return nullptr;
}

std::string SamplesSpec::file_stem(std::int64_t step) const {
  char stem[32];
  std::snprintf(stem, sizeof stem, "step-%08lld", static_cast<long long>(step));
  return name.empty() ? std::string(stem) : name + "-" + stem;
}

int Graph::find_module(const std::string& n) const {
  for (size_t i = 0; i < modules.size(); ++i)
    if (modules[i].name == n) return static_cast<int>(i);
  return -1;
}

std::string Graph::port_name(const PortRef& ref) const {
  const auto& node = nodes.at(ref.node);
  return node.contract().outputs().size() == 1 ? node.name : node.name + "." + ref.port;
}

bool valid_graph_name(const std::string& name) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_-]*");
  return std::regex_match(name, re);
}

std::string data_folder() {
  if (const char* env = std::getenv("GANGLION_DATA"); env && *env) return env;
  return GANGLION_DEFAULT_DATA_DIR;
}

namespace {

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

/// Whether `node` applies `module` or reads, directly or not, a node that does.
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

/// Everything the checks share: the document, where errors go, the registry.
class Loader {
 public:
  Loader(const std::string& file, const PluginRegistry& registry, Completeness completeness)
      : file_(file), diags_(file), registry_(registry), completeness_(completeness) {
    std::error_code ec;
    graph_dir_ = fs::absolute(fs::path(file), ec).parent_path().string();
  }

  Graph build(json document);

 private:
  void check_keys(const json& object, const std::string& pointer, const std::vector<std::string>& allowed) {
    for (const auto& [key, _] : object.items())
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
        diags_.error(pointer + json_pointer({key}), "unknown field " + quote(key) +
                                                        did_you_mean(key, allowed) +
                                                        "; allowed here: " + list_names(allowed));
  }

  /// Reads an integer field with a default and a lower bound; reports and returns the default on
  /// any problem.
  std::int64_t integer_field(const json& object, const std::string& key, const std::string& pointer,
                             std::int64_t fallback, std::int64_t min) {
    if (!object.contains(key)) return fallback;
    const auto& v = object[key];
    const auto where = pointer + json_pointer({key});
    if (!v.is_number_integer()) {
      diags_.error(where, "expected an integer, found " + type_name(v));
      return fallback;
    }
    if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(INT64_MAX)) {
      diags_.error(where, quote(key) + " is " + v.dump() + ", too large");
      return fallback;
    }
    const auto x = v.get<std::int64_t>();
    if (x < min) {
      diags_.error(where,
                   quote(key) + " is " + std::to_string(x) + ", must be at least " + std::to_string(min));
      return fallback;
    }
    return x;
  }

  double number_field(const json& object, const std::string& key, const std::string& pointer, double fallback,
                      double min, double max) {
    if (!object.contains(key)) return fallback;
    const auto& v = object[key];
    const auto where = pointer + json_pointer({key});
    if (!v.is_number()) {
      diags_.error(where, "expected a number, found " + type_name(v));
      return fallback;
    }
    const double x = v.get<double>();
    if (!(x >= min && x <= max)) {
      diags_.error(where, quote(key) + " is " + v.dump() + ", must be in [" + json(min).dump() + ", " +
                              json(max).dump() + "]");
      return fallback;
    }
    return x;
  }

  const std::string* string_field(const json& object, const std::string& key, const std::string& pointer,
                                  bool required) {
    if (!object.contains(key)) {
      if (required) diags_.error(pointer, "missing field " + quote(key));
      return nullptr;
    }
    const auto& v = object[key];
    if (!v.is_string()) {
      diags_.error(pointer + json_pointer({key}), "expected a string, found " + type_name(v));
      return nullptr;
    }
    return v.get_ptr<const std::string*>();
  }

  const RegisteredType* find_type(const std::string& type, const std::string& pointer, NodeKind wanted,
                                  bool module_entry);
  std::string substitute(const std::string& text, const std::string& pointer);
  Params check_params(const Contract& contract, const json& entry, const std::string& pointer);
  std::optional<LayerChoice> check_layer(const ParamSpec& spec, const json& value, const std::string& where);
  void load_modules(const json& modules, Graph& g);
  void declare_nodes(const json& nodes, Graph& g);
  void resolve_inputs(const json& nodes, Graph& g);
  /// Fills and checks the members of the node's param groups (w.NAME for each input terms.NAME).
  void check_param_groups(NodeEntry& n);
  void declare_weights(const json& value, const std::string& pointer, ModuleEntry& m);
  bool resolve_ref(const json& value, const std::string& pointer, const Graph& g, PortRef& out);
  void load_phases(const json& phases, Graph& g, bool refs_ok);
  void load_named_optimizers(const json& optimizers, Graph& g);
  void attach_optimizers(const json& phases, Graph& g);
  void warn_about_training(Graph& g);
  OptimizerSpec load_optimizer(const json& j, const std::string& pointer, OptimizerSpec base);
  void load_outputs(const json& outputs, Graph& g);
  void load_samples_grid(const json& grid, const std::string& pointer, const std::string& name, Graph& g);
  void load_eval(const json& e, Graph& g);
  void load_schedules(const json& schedules, Graph& g);
  void load_schedule_entry(const std::string& name, const json& entry, const std::string& pointer, Graph& g);
  /// Calls `each` with every entry of a section of named entries ("optimizers", "schedules"),
  /// after checking the section is an object and each name a valid one.
  void for_each_named(const json& section, const std::string& key, const std::string& example,
                      const std::function<void(const std::string&, const json&, const std::string&)>& each);
  /// Whether `name` is one of the graph's schedules; reports at `where` when it is not.
  bool schedule_named(const std::string& name, const std::string& where);
  std::vector<std::string> schedule_names_;
  std::string default_writer(const Graph& g, const PortRef& from, const std::string& pointer);
  void load_schedule(const json& j, const std::string& pointer, OptimizerSpec& o);

  /// A problem of a graph still being built: an error for a runnable graph, else a thing to do.
  void unfinished(const std::string& pointer, const std::string& message);

  std::string file_, graph_dir_;
  Diagnostics diags_;
  const PluginRegistry& registry_;
  Completeness completeness_;

 public:
  std::vector<Diagnostic> todo_;
};

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

Params Loader::check_params(const Contract& contract, const json& entry, const std::string& pointer) {
  std::map<std::string, ParamValue> values;
  std::map<std::string, LayerChoice> layers;
  for (const auto& spec : contract.params()) {
    if (!spec.input_group.empty()) continue;  // members are defaulted once the inputs are known
    values[spec.name] = spec.default_value;
    if (spec.type == ParamType::Layer) layers[spec.name] = {std::get<std::string>(spec.default_value), {}};
  }
  const std::string ppointer = pointer + "/params";
  json given = json::object();
  if (entry.contains("params")) {
    if (!entry["params"].is_object())
      diags_.error(ppointer, "expected an object of params, found " + type_name(entry["params"]));
    else
      given = entry["params"];
  }
  std::vector<std::string> names;
  for (const auto& spec : contract.params())
    names.push_back(spec.input_group.empty() ? spec.name : spec.name + ".MEMBER");
  for (const auto& [key, v] : given.items()) {
    const std::string where = ppointer + json_pointer({key});
    const ParamSpec* spec = contract.find_param(key);
    if (!spec) {
      diags_.error(where, contract.type() + " has no param " + quote(key) + did_you_mean(key, names) +
                              "; its params: " + list_names(names));
      continue;
    }
    const std::string expects = std::string("param ") + quote(key) + " expects ";
    switch (spec->type) {
      case ParamType::Int: {
        if (!v.is_number_integer()) {
          diags_.error(where, expects + "an integer, found " + type_name(v));
          continue;
        }
        if (v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(INT64_MAX)) {
          diags_.error(where, "param " + quote(key) + " is " + v.dump() + ", too large");
          continue;
        }
        const auto x = v.get<std::int64_t>();
        if ((spec->min && x < *spec->min) || (spec->max && x > *spec->max)) {
          diags_.error(where, "param " + quote(key) + " is " + std::to_string(x) + ", outside its range " +
                                  (spec->min ? json(std::int64_t(*spec->min)).dump() : "-inf") + ".." +
                                  (spec->max ? json(std::int64_t(*spec->max)).dump() : "inf"));
          continue;
        }
        values[key] = x;
        break;
      }
      case ParamType::Float: {
        if (!v.is_number()) {
          diags_.error(where, expects + "a number, found " + type_name(v));
          continue;
        }
        const double x = v.get<double>();
        if (!std::isfinite(x) || (spec->min && x < *spec->min) || (spec->max && x > *spec->max)) {
          diags_.error(where, "param " + quote(key) + " is " + v.dump() + ", outside its range " +
                                  (spec->min ? json(*spec->min).dump() : "-inf") + ".." +
                                  (spec->max ? json(*spec->max).dump() : "inf"));
          continue;
        }
        values[key] = x;
        break;
      }
      case ParamType::Bool:
        if (!v.is_boolean()) {
          diags_.error(where, expects + "true or false, found " + type_name(v));
          continue;
        }
        values[key] = v.get<bool>();
        break;
      case ParamType::Schedule:
        if (!v.is_string()) {
          diags_.error(where, expects + "the name of one of the graph's schedules, found " + type_name(v));
          continue;
        }
        if (!v.get<std::string>().empty() && !schedule_named(v.get<std::string>(), where)) continue;
        values[key] = v.get<std::string>();
        break;
      case ParamType::String:
      case ParamType::Path:
        if (!v.is_string()) {
          diags_.error(where, expects + "a string, found " + type_name(v));
          continue;
        }
        values[key] = substitute(v.get<std::string>(), where);
        break;
      case ParamType::Layer:
        if (auto choice = check_layer(*spec, v, where)) {
          values[key] = choice->type;
          layers[key] = std::move(*choice);
        }
        break;
    }
  }
  for (const auto& spec : contract.params()) {
    if (!spec.input_group.empty()) continue;
    const auto& v = values[spec.name];
    if (std::holds_alternative<std::monostate>(v)) {
      diags_.error(
          entry.contains("params") ? ppointer : pointer,
          "missing required param " + quote(spec.name) + " of " + contract.type() + " (" + spec.doc + ")");
      continue;
    }
    if (spec.type == ParamType::Path) {
      const auto& path = std::get<std::string>(v);
      std::error_code ec;
      if (!path.empty() && !fs::exists(path, ec))
        diags_.error(ppointer + json_pointer({spec.name}),
                     "file not found: " + path +
                         (path.rfind(data_folder(), 0) == 0
                              ? " (scripts/setup.sh fetches the data sets into " + data_folder() + ")"
                              : ""));
    }
  }
  return Params(std::move(values), std::move(layers));
}

std::optional<LayerChoice> Loader::check_layer(const ParamSpec& spec, const json& v,
                                               const std::string& where) {
  const json* type = &v;
  if (v.is_object()) {
    check_keys(v, where, {"type", "params"});
    if (!v.contains("type")) {
      diags_.error(where, "missing \"type\": a layer type of family " + spec.family);
      return std::nullopt;
    }
    type = &v["type"];
  }
  if (!type->is_string()) {
    diags_.error(v.is_object() ? where + "/type" : where,
                 "param " + quote(spec.name) + " expects a layer type of family " + spec.family +
                     " (a string, or {\"type\": ..., \"params\": {...}}), found " + type_name(*type));
    return std::nullopt;
  }
  const std::string name = type->get<std::string>();
  std::vector<std::string> family;
  for (const auto& [n, t] : registry_.types())
    if (t.contract.kind() == NodeKind::Layer && t.contract.layer_family() == spec.family) family.push_back(n);
  const RegisteredType* t = registry_.find(name);
  if (!t || t->contract.kind() != NodeKind::Layer || t->contract.layer_family() != spec.family) {
    diags_.error(v.is_object() ? where + "/type" : where, quote(name) + " is not a layer of family " +
                                                              spec.family + did_you_mean(name, family) +
                                                              "; the loaded ones: " + list_names(family));
    return std::nullopt;
  }
  // The layer's own params, checked like a node's (a layer's params hold no further layers).
  const Params nested = check_params(t->contract, v.is_object() ? v : json::object(), where);
  return LayerChoice{name, nested.values()};
}

void Loader::load_modules(const json& modules, Graph& g) {
  if (!modules.is_object()) {
    diags_.error("/modules", "expected an object of modules, found " + type_name(modules));
    return;
  }
  for (const auto& [name, entry] : modules.items()) {
    const std::string pointer = "/modules" + json_pointer({name});
    if (!valid_graph_name(name)) {
      diags_.error(pointer, "module name " + quote(name) +
                                " is not valid: use letters, digits, _ and -, starting with a letter");
      continue;
    }
    if (!entry.is_object()) {
      diags_.error(pointer, "expected an object with \"type\", found " + type_name(entry));
      continue;
    }
    check_keys(entry, pointer, {"type", "params", "ema", "weights", "grow", "doc"});
    ModuleEntry m;
    m.name = name;
    m.pointer = pointer;
    if (const std::string* type = string_field(entry, "type", pointer, true))
      m.type = find_type(*type, pointer + "/type", NodeKind::Module, true);
    if (m.type) m.params = check_params(m.type->contract, entry, pointer);
    if (entry.contains("ema")) {
      const auto& e = entry["ema"];
      const std::string ep = pointer + "/ema";
      if (!e.is_object()) {
        diags_.error(ep, "expected an object such as {\"beta\": 0.999}, found " + type_name(e));
      } else {
        check_keys(e, ep, {"beta", "rampup", "half_life_images", "rampup_ratio"});
        m.ema.enabled = true;
        if (e.contains("half_life_images")) {
          // StyleGAN2's form: a half-life in images, optionally ramped up with the images seen.
          if (e.contains("beta") || e.contains("rampup"))
            diags_.error(ep,
                         "give either \"beta\" (and \"rampup\" in steps) or \"half_life_images\" (and "
                         "\"rampup_ratio\"), not both");
          m.ema.half_life_images = number_field(e, "half_life_images", ep, 10000.0, 1e-3, 1e15);
          m.ema.rampup_ratio = number_field(e, "rampup_ratio", ep, 0.0, 0.0, 1e6);
        } else {
          if (e.contains("rampup_ratio"))
            diags_.error(ep + "/rampup_ratio",
                         "\"rampup_ratio\" ramps up a \"half_life_images\"; set that too");
          m.ema.beta = number_field(e, "beta", ep, 0.999, 0.0, 1.0);
          m.ema.rampup = integer_field(e, "rampup", ep, 0, 0);
        }
      }
    }
    if (entry.contains("weights")) declare_weights(entry["weights"], pointer + "/weights", m);
    if (entry.contains("grow")) {
      if (!entry["grow"].is_string())
        diags_.error(pointer + "/grow",
                     "expected the name of the schedule that gives the module's stage, found " +
                         type_name(entry["grow"]));
      else if (schedule_named(entry["grow"].get<std::string>(), pointer + "/grow"))
        m.grow = g.find_schedule(entry["grow"].get<std::string>());
    }
    g.modules.push_back(std::move(m));
  }
}

void Loader::declare_weights(const json& value, const std::string& pointer, ModuleEntry& m) {
  m.weights.module = m.name;
  const json* from = &value;
  if (value.is_object()) {
    check_keys(value, pointer, {"from", "module"});
    if (!value.contains("from")) {
      diags_.error(pointer, "missing \"from\": a run directory or a checkpoint file");
      return;
    }
    from = &value["from"];
    if (const std::string* module = string_field(value, "module", pointer, false)) m.weights.module = *module;
  }
  if (!from->is_string() || from->get<std::string>().empty()) {
    diags_.error(value.is_object() ? pointer + "/from" : pointer,
                 "expected a run directory or a checkpoint file, such as \"runs/classifier-mnist\", found " +
                     type_name(*from));
    return;
  }
  m.weights.from = substitute(from->get<std::string>(), pointer);
}

void Loader::declare_nodes(const json& nodes, Graph& g) {
  for (const auto& [name, entry] : nodes.items()) {
    const std::string pointer = "/nodes" + json_pointer({name});
    NodeEntry n;
    n.name = name;
    n.pointer = pointer;
    if (!valid_graph_name(name))
      diags_.error(pointer, "node name " + quote(name) +
                                " is not valid: use letters, digits, _ and -, starting with a letter");
    if (!entry.is_object()) {
      diags_.error(pointer, "expected an object with \"type\" or \"apply\", found " + type_name(entry));
      g.nodes.push_back(std::move(n));
      continue;
    }
    check_keys(entry, pointer, {"type", "apply", "params", "in", "draw", "doc"});
    const bool has_type = entry.contains("type"), has_apply = entry.contains("apply");
    if (has_type == has_apply) {
      diags_.error(pointer, has_type ? "give either \"type\" or \"apply\", not both"
                                     : "missing \"type\" (a node type) or \"apply\" (a module name)");
    } else if (has_type) {
      if (const std::string* type = string_field(entry, "type", pointer, true)) {
        n.type = find_type(*type, pointer + "/type", NodeKind::Function, false);
        if (n.type) n.params = check_params(n.type->contract, entry, pointer);
      }
    } else if (const std::string* module = string_field(entry, "apply", pointer, true)) {
      n.module = g.find_module(*module);
      if (n.module < 0) {
        std::vector<std::string> names;
        for (const auto& m : g.modules) names.push_back(m.name);
        diags_.error(pointer + "/apply", "no module " + quote(*module) + did_you_mean(*module, names) +
                                             "; modules: " + list_names(names));
      } else {
        n.type = g.modules[n.module].type;
        if (entry.contains("params"))
          diags_.error(pointer + "/params",
                       "a node that applies a module takes no params: set them on /modules/" + *module);
      }
    }
    if (entry.contains("draw")) {
      const std::string* draw = string_field(entry, "draw", pointer, false);
      if (draw && *draw == "per-phase")
        n.draw = DrawPolicy::PerPhase;
      else if (draw && *draw != "per-iteration")
        diags_.error(pointer + "/draw", "expected \"per-iteration\" or \"per-phase\", found " + quote(*draw));
      if (n.type && n.kind() != NodeKind::Source)
        diags_.error(pointer + "/draw", "only sources draw samples; " + n.type->contract.type() + " is a " +
                                            to_string(n.kind()));
    }
    g.nodes.push_back(std::move(n));
  }
}

bool Loader::resolve_ref(const json& value, const std::string& pointer, const Graph& g, PortRef& out) {
  if (!value.is_string()) {
    diags_.error(pointer,
                 "expected a reference such as \"node\" or \"node.port\", found " + type_name(value));
    return false;
  }
  const std::string text = value.get<std::string>();
  const auto dot = text.find('.');
  const std::string node_name = text.substr(0, dot);
  out.node = g.find_node(node_name);
  if (out.node < 0) {
    std::vector<std::string> names;
    for (const auto& n : g.nodes) names.push_back(n.name);
    diags_.error(pointer, "no node " + quote(node_name) + did_you_mean(node_name, names));
    return false;
  }
  const NodeEntry& node = g.nodes[out.node];
  if (!node.type) return false;  // already reported
  const auto& outputs = node.contract().outputs();
  std::vector<std::string> ports;
  for (const auto& p : outputs) ports.push_back(p.name);
  if (dot == std::string::npos) {
    if (outputs.size() != 1) {
      diags_.error(pointer, "node " + quote(node_name) + " has several outputs (" + list_names(ports) +
                                "): name one, e.g. " + quote(node_name + "." + ports.front()));
      return false;
    }
    out.port = outputs.front().name;
    return true;
  }
  out.port = text.substr(dot + 1);
  if (!node.contract().find_output(out.port)) {
    diags_.error(pointer, "node " + quote(node_name) + " (" + node.contract().type() + ") has no output " +
                              quote(out.port) + did_you_mean(out.port, ports) +
                              "; its outputs: " + list_names(ports));
    return false;
  }
  return true;
}

/// Why output `r` cannot feed input `spec` (dtype or rank), or "" when it can.
std::string port_mismatch(const PortSpec& spec, const Graph& g, const PortRef& r) {
  // A node whose type or module is itself in error has no contract to compare with.
  if (!g.nodes[r.node].type) return {};
  const PortSpec* from = g.nodes[r.node].contract().find_output(r.port);
  if (!from) return {};
  if (spec.dtype != DType::Any && from->dtype != DType::Any && spec.dtype != from->dtype)
    return "input " + quote(spec.name) + " takes " + to_string(spec.dtype) + " but " + quote(g.port_name(r)) +
           " gives " + to_string(from->dtype);
  if (spec.rank() >= 0 && from->rank() >= 0 && spec.rank() != from->rank())
    return "input " + quote(spec.name) + " takes shape " + quote(spec.shape) + " (rank " +
           std::to_string(spec.rank()) + ") but " + quote(g.port_name(r)) + " gives " + quote(from->shape) +
           " (rank " + std::to_string(from->rank()) + ")";
  return {};
}

void Loader::resolve_inputs(const json& nodes, Graph& g) {
  for (auto& n : g.nodes) {
    if (!n.type) continue;
    const json& entry = nodes[n.name];
    const Contract& c = n.contract();
    std::vector<std::string> port_names;
    for (const auto& p : c.inputs()) port_names.push_back(p.name);
    json in = json::object();
    if (entry.contains("in")) {
      if (!entry["in"].is_object())
        diags_.error(n.pointer + "/in",
                     "expected an object mapping input ports to nodes, found " + type_name(entry["in"]));
      else
        in = entry["in"];
    }
    for (const auto& [port, value] : in.items()) {
      const std::string where = n.pointer + "/in" + json_pointer({port});
      const PortSpec* spec = c.find_input(port);
      if (!spec) {
        diags_.error(where, c.type() + " has no input " + quote(port) + did_you_mean(port, port_names) +
                                "; its inputs: " + list_names(port_names));
        continue;
      }
      if (spec->group && !valid_graph_name(port.substr(spec->name.size() + 1))) {
        diags_.error(where, "the member name after " + quote(spec->name + ".") +
                                " uses letters, digits, '_' and '-' (e.g. " + quote(spec->name + ".cycle") +
                                ")");
        continue;
      }
      // A reference is "node.port", or {"from": "node.port", "stale": true} for a value an earlier
      // phase computed, read even though a module it depends on has been updated since.
      const json* ref = &value;
      bool stale = false;
      if (value.is_object()) {
        check_keys(value, where, {"from", "stale"});
        if (!value.contains("from")) {
          diags_.error(where, "missing field \"from\" (the node whose value this input reads)");
          continue;
        }
        ref = &value["from"];
        if (value.contains("stale")) {
          if (!value["stale"].is_boolean()) {
            diags_.error(where + "/stale", "expected true or false, found " + type_name(value["stale"]));
            continue;
          }
          stale = value["stale"].get<bool>();
        }
      }
      PortRef r;
      if (!resolve_ref(*ref, value.is_object() ? where + "/from" : where, g, r)) continue;
      const std::string mismatch = port_mismatch(*spec, g, r);
      if (!mismatch.empty()) {
        diags_.error(where, mismatch);
        continue;
      }
      n.inputs[port] = r;
      if (stale) n.stale_inputs.insert(port);
    }
    for (const auto& p : c.inputs()) {
      const std::string at = n.pointer + (entry.contains("in") ? "/in" : "");
      if (p.group) {
        const auto members = static_cast<int>(std::count_if(
            n.inputs.begin(), n.inputs.end(), [&](const auto& i) { return p.accepts(i.first); }));
        if (members < p.min_count)
          unfinished(at, c.type() + " takes at least " + std::to_string(p.min_count) + " input" +
                             (p.min_count > 1 ? "s " : " ") + quote(p.name + ".NAME") + " (" + p.doc + "), " +
                             std::to_string(members) + " connected");
      } else if (!p.optional && !in.contains(p.name)) {
        unfinished(at, "missing required input " + quote(p.name) + " of " + c.type() + " (" + p.doc + ")");
      }
    }
    check_param_groups(n);
  }
}

void Loader::check_param_groups(NodeEntry& n) {
  // A module's params belong to its entry, made once for every node that applies it.
  if (n.module >= 0) return;
  const Contract& c = n.contract();
  for (const auto& spec : c.params()) {
    if (spec.input_group.empty()) continue;
    const PortSpec* group = c.find_input(spec.input_group + ".x");
    // Each given member must weigh a connected input; each connected input without one gets the
    // default.
    std::vector<std::string> members;
    for (const auto& [port, ref] : n.inputs)
      if (group && group->accepts(port)) members.push_back(port.substr(group->name.size() + 1));
    for (const auto& [key, value] : n.params.values()) {
      if (c.find_param(key) != &spec || key == spec.name) continue;
      const std::string member = key.substr(spec.name.size() + 1);
      if (std::find(members.begin(), members.end(), member) == members.end()) {
        std::vector<std::string> names;
        for (const auto& m : members) names.push_back(spec.name + "." + m);
        diags_.error(n.pointer + "/params" + json_pointer({key}),
                     "param " + quote(key) + " belongs to input " + quote(spec.input_group + "." + member) +
                         ", which is not connected" + did_you_mean(key, names));
      }
    }
    for (const auto& m : members)
      if (!n.params.has(spec.name + "." + m)) n.params.set(spec.name + "." + m, spec.default_value);
  }
}

void Loader::load_schedule(const json& j, const std::string& pointer, OptimizerSpec& o) {
  if (!j.is_object()) {
    diags_.error(pointer,
                 "expected an object such as {\"type\": \"linear\", \"to\": 0} or {\"type\": \"step\", "
                 "\"every\": 1000, \"gamma\": 0.5}, found " +
                     type_name(j));
    return;
  }
  const std::string* type = string_field(j, "type", pointer, true);
  if (!type) return;
  static const std::vector<std::string> kinds{"constant", "linear", "step"};
  if (std::find(kinds.begin(), kinds.end(), *type) == kinds.end()) {
    diags_.error(pointer + "/type", "unknown schedule " + quote(*type) + did_you_mean(*type, kinds) +
                                        "; available: constant, linear, step");
    return;
  }
  o.schedule = *type;
  if (*type == "linear") {
    check_keys(j, pointer, {"type", "start", "end", "to"});
    o.start = integer_field(j, "start", pointer, 0, 0);
    o.end = integer_field(j, "end", pointer, 0, 1);
    o.to = number_field(j, "to", pointer, 0.0, 0.0, 1e6);
    if (o.end != 0 && o.end <= o.start)
      diags_.error(pointer + "/end", "the decay must end after it starts (start " + std::to_string(o.start) +
                                         ", end " + std::to_string(o.end) + ")");
  } else if (*type == "step") {
    check_keys(j, pointer, {"type", "every", "gamma"});
    if (!j.contains("every")) diags_.error(pointer, "missing field \"every\" (iterations between decays)");
    o.every = integer_field(j, "every", pointer, 1, 1);
    o.gamma = number_field(j, "gamma", pointer, 0.1, 0.0, 1e6);
  } else {
    check_keys(j, pointer, {"type"});
  }
}

OptimizerSpec Loader::load_optimizer(const json& j, const std::string& pointer, OptimizerSpec o) {
  if (!j.is_object()) {
    diags_.error(pointer,
                 "expected an object such as {\"type\": \"adam\", \"lr\": 0.0002}, found " + type_name(j));
    return o;
  }
  check_keys(j, pointer,
             {"type", "lr", "betas", "momentum", "alpha", "eps", "weight_decay", "module", "schedule"});
  if (const std::string* type = string_field(j, "type", pointer, false)) {
    static const std::vector<std::string> kinds{"adam", "sgd", "rmsprop"};
    if (std::find(kinds.begin(), kinds.end(), *type) == kinds.end())
      diags_.error(pointer + "/type", "unknown optimizer " + quote(*type) + did_you_mean(*type, kinds) +
                                          "; available: adam, sgd, rmsprop");
    else
      o.type = *type;
  }
  o.lr = number_field(j, "lr", pointer, o.lr, 0.0, 1e3);
  o.momentum = number_field(j, "momentum", pointer, o.momentum, 0.0, 1.0);
  o.alpha = number_field(j, "alpha", pointer, o.alpha, 0.0, 1.0);
  o.eps = number_field(j, "eps", pointer, o.eps, 0.0, 1.0);
  o.weight_decay = number_field(j, "weight_decay", pointer, o.weight_decay, 0.0, 1e3);
  if (j.contains("schedule")) load_schedule(j["schedule"], pointer + "/schedule", o);
  if (j.contains("betas")) {
    const auto& b = j["betas"];
    if (!b.is_array() || b.size() != 2 || !b[0].is_number() || !b[1].is_number() || b[0].get<double>() < 0 ||
        b[0].get<double>() >= 1 || b[1].get<double>() < 0 || b[1].get<double>() >= 1)
      diags_.error(pointer + "/betas", "expected two numbers in [0, 1), e.g. [0.5, 0.999]");
    else
      o.beta1 = b[0].get<double>(), o.beta2 = b[1].get<double>();
  }
  return o;
}

void Loader::load_phases(const json& phases, Graph& g, bool refs_ok) {
  if (phases.is_array() && phases.empty()) {
    unfinished("/phases", "no phases yet: a graph trains only with at least one phase");
    return;
  }
  if (!phases.is_array()) {
    diags_.error("/phases", "expected a non-empty list of phases, found " + type_name(phases));
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < phases.size(); ++i) {
    const json& entry = phases[i];
    const std::string pointer = "/phases/" + std::to_string(i);
    if (!entry.is_object()) {
      diags_.error(pointer, "expected an object with \"name\", \"minimize\" and \"update\", found " +
                                type_name(entry));
      continue;
    }
    check_keys(entry, pointer,
               {"name", "minimize", "update", "optimizer", "every", "repeat", "from", "lazy", "doc"});
    PhaseSpec p;
    p.pointer = pointer;
    if (const std::string* name = string_field(entry, "name", pointer, true)) {
      p.name = *name;
      if (!names.insert(p.name).second)
        diags_.error(pointer + "/name", "two phases are named " + quote(p.name));
    }
    p.every = integer_field(entry, "every", pointer, 1, 1);
    p.repeat = integer_field(entry, "repeat", pointer, 1, 1);
    p.from = integer_field(entry, "from", pointer, 1, 1);
    if (!entry.contains("minimize")) {
      diags_.error(pointer, "missing field \"minimize\" (the loss node this phase minimises)");
    } else if (refs_ok && resolve_ref(entry["minimize"], pointer + "/minimize", g, p.minimize)) {
      const PortSpec* out = g.nodes[p.minimize.node].contract().find_output(p.minimize.port);
      // "*" (any rank) is checked when the phase runs.
      if (out->rank() > 0)
        diags_.error(pointer + "/minimize", quote(g.port_name(p.minimize)) +
                                                " is not a scalar (its shape is " + quote(out->shape) +
                                                "): minimize a loss");
      else if (out->dtype == DType::Long)
        diags_.error(pointer + "/minimize",
                     quote(g.port_name(p.minimize)) + " holds integers: minimize a loss");
    }
    if (entry.contains("lazy")) {
      if (!entry["lazy"].is_boolean())
        diags_.error(pointer + "/lazy", "expected true or false, found " + type_name(entry["lazy"]));
      else
        p.lazy = entry["lazy"].get<bool>();
    }
    // A string names one of the graph's "optimizers" (attach_optimizers resolves it); an object
    // is the phase's own.
    const bool shared = entry.contains("optimizer") && entry["optimizer"].is_string();
    OptimizerSpec base;
    if (entry.contains("optimizer") && !shared)
      base = load_optimizer(entry["optimizer"], pointer + "/optimizer", base);
    if (!entry.contains("update")) {
      diags_.error(pointer, "missing field \"update\" (the modules this phase trains)");
    } else if (!entry["update"].is_array() || entry["update"].empty()) {
      diags_.error(pointer + "/update", "expected a non-empty list of module names");
    } else {
      std::vector<std::string> module_names;
      for (const auto& m : g.modules) module_names.push_back(m.name);
      for (size_t k = 0; k < entry["update"].size(); ++k) {
        const json& u = entry["update"][k];
        const std::string where = pointer + "/update/" + std::to_string(k);
        UpdateEntry ue;
        ue.optimizer = base;
        std::string name;
        if (u.is_string()) {
          name = u.get<std::string>();
        } else if (u.is_object() && u.contains("module") && u["module"].is_string()) {
          name = u["module"].get<std::string>();
          if (shared && u.size() > 1)
            diags_.error(where, "this phase steps the shared optimizer " + entry["optimizer"].dump() +
                                    ", whose groups take their settings from /optimizers; per-module "
                                    "settings belong to a phase's own optimizer object");
          ue.optimizer = load_optimizer(u, where, base);
          if (ue.optimizer.type != base.type)
            diags_.error(where + "/type", "a phase uses one optimizer type (" + base.type +
                                              "): set \"type\" on the phase's \"optimizer\"");
        } else {
          diags_.error(where, "expected a module name, or {\"module\": NAME, \"lr\": ...}");
          continue;
        }
        ue.module = g.find_module(name);
        if (ue.module < 0)
          diags_.error(where, "no module " + quote(name) + did_you_mean(name, module_names) +
                                  "; modules: " + list_names(module_names));
        else if (p.updates(ue.module))
          diags_.error(where, "module " + quote(name) + " is listed twice");
        else if (p.minimize.node >= 0 && !influences(g, ue.module, p.minimize.node))
          diags_.error(where, "module " + quote(name) + " does not influence " +
                                  quote(g.port_name(p.minimize)) + ": this phase could never train it");
        else
          p.update.push_back(ue);
      }
    }
    g.phases.push_back(std::move(p));
  }
}

bool Loader::schedule_named(const std::string& name, const std::string& where) {
  if (std::find(schedule_names_.begin(), schedule_names_.end(), name) != schedule_names_.end()) return true;
  diags_.error(where, no_such("schedule", name, schedule_names_, "schedules"));
  return false;
}

void Loader::for_each_named(
    const json& section, const std::string& key, const std::string& example,
    const std::function<void(const std::string&, const json&, const std::string&)>& each) {
  const std::string at = "/" + key;
  if (!section.is_object()) {
    diags_.error(
        at, "expected an object of named " + key + " such as " + example + ", found " + type_name(section));
    return;
  }
  for (const auto& [name, entry] : section.items()) {
    const std::string pointer = at + json_pointer({name});
    if (!valid_graph_name(name))
      diags_.error(pointer, "a name in " + key + " is letters, digits, _ and -, starting with a letter or _");
    else
      each(name, entry, pointer);
  }
}

void Loader::load_schedules(const json& schedules, Graph& g) {
  for_each_named(schedules, "schedules",
                 "{\"alpha\": {\"by\": \"images\", \"points\": [[0, 0], [600000, 1]]}}",
                 [&](const std::string& name, const json& entry, const std::string& pointer) {
                   load_schedule_entry(name, entry, pointer, g);
                 });
}

void Loader::load_schedule_entry(const std::string& name, const json& entry, const std::string& pointer,
                                 Graph& g) {
  if (!entry.is_object()) {
    diags_.error(pointer, "expected an object with \"points\", found " + type_name(entry));
    return;
  }
  check_keys(entry, pointer, {"by", "points", "interpolate", "doc"});
  ScheduleSpec spec;
  spec.name = name;
  spec.pointer = pointer;
  if (const std::string* by = string_field(entry, "by", pointer, false)) {
    if (*by != "iterations" && *by != "images")
      diags_.error(pointer + "/by", "expected \"iterations\" or \"images\", found " + quote(*by));
    spec.by_images = *by == "images";
  }
  if (const std::string* how = string_field(entry, "interpolate", pointer, false)) {
    if (*how != "linear" && *how != "step")
      diags_.error(pointer + "/interpolate", "expected \"linear\" or \"step\", found " + quote(*how));
    spec.stepwise = *how == "step";
  }
  const json* points = entry.contains("points") ? &entry["points"] : nullptr;
  if (!points || !points->is_array() || points->empty()) {
    diags_.error(pointer + (points ? "/points" : ""),
                 "expected \"points\": a non-empty list of [x, value] pairs, x increasing");
    return;
  }
  for (size_t i = 0; i < points->size(); ++i) {
    const json& pt = (*points)[i];
    const std::string where = pointer + "/points/" + std::to_string(i);
    if (!pt.is_array() || pt.size() != 2 || !pt[0].is_number() || !pt[1].is_number()) {
      diags_.error(where, "expected [x, value], two numbers, found " + pt.dump());
      continue;
    }
    const double x = pt[0].get<double>(), y = pt[1].get<double>();
    if (!std::isfinite(x) || !std::isfinite(y)) {
      diags_.error(where, "expected finite numbers, found " + pt.dump());
      continue;
    }
    if (!spec.points.empty() && x <= spec.points.back().first) {
      diags_.error(where, "x must increase from point to point (" + json(x).dump() + " after " +
                              json(spec.points.back().first).dump() + ")");
      continue;
    }
    spec.points.emplace_back(x, y);
  }
  schedule_names_.push_back(name);
  g.schedules.push_back(std::move(spec));
}

void Loader::load_named_optimizers(const json& optimizers, Graph& g) {
  for_each_named(optimizers, "optimizers", "{\"D\": {\"type\": \"adam\", \"lr\": 0.002}}",
                 [&](const std::string& name, const json& entry, const std::string& pointer) {
                   if (entry.is_object() && entry.contains("module")) {
                     diags_.error(
                         pointer + "/module",
                         "a named optimizer updates the modules of the phases that name it: list them "
                         "in those phases' \"update\"");
                     return;
                   }
                   OptimizerEntry o;
                   o.name = name;
                   o.named = true;
                   o.pointer = pointer;
                   o.spec = load_optimizer(entry, pointer, OptimizerSpec{});
                   g.optimizers.push_back(std::move(o));
                 });
}

void Loader::attach_optimizers(const json& phases, Graph& g) {
  std::vector<std::string> names;
  for (const auto& o : g.optimizers) names.push_back(o.name);
  for (size_t i = 0; i < g.phases.size(); ++i) {
    PhaseSpec& p = g.phases[i];
    const json& entry = phases[i];
    const json* chosen = entry.contains("optimizer") ? &entry["optimizer"] : nullptr;
    if (chosen && chosen->is_string()) {
      const std::string name = chosen->get<std::string>();
      auto it = std::find(names.begin(), names.end(), name);
      if (it == names.end()) {
        diags_.error(p.pointer + "/optimizer", no_such("optimizer", name, names, "optimizers"));
        continue;
      }
      p.optimizer = static_cast<int>(it - names.begin());
      OptimizerEntry& o = g.optimizers[p.optimizer];
      for (auto& u : p.update) {
        u.optimizer = o.spec;
        if (o.group_of(u.module) < 0) o.groups.push_back(u);
      }
      o.phases.push_back(static_cast<int>(i));
    } else {
      OptimizerEntry o;
      o.name = p.name;
      o.pointer = p.pointer + "/optimizer";
      // As before named optimizers: the first module's settings are the optimizer's defaults.
      o.spec = p.update.empty() ? OptimizerSpec{} : p.update.front().optimizer;
      o.groups = p.update;
      o.phases.push_back(static_cast<int>(i));
      p.optimizer = static_cast<int>(g.optimizers.size());
      g.optimizers.push_back(std::move(o));
    }
    if (p.lazy) {
      OptimizerEntry& o = g.optimizers[p.optimizer];
      if (p.every < 2)
        diags_.error(p.pointer + "/lazy",
                     "a lazy phase runs every N iterations (N >= 2) and adjusts its optimizer by N/(N+1): "
                     "set \"every\"");
      else if (o.lazy_interval != 0 && o.lazy_interval != p.every)
        diags_.error(p.pointer + "/lazy", "optimizer " + quote(o.name) +
                                              " is already adjusted for a lazy phase every " +
                                              std::to_string(o.lazy_interval) +
                                              " iterations; one optimizer takes one lazy interval");
      else
        o.lazy_interval = p.every;
    }
  }
  for (const auto& o : g.optimizers)
    if (o.named && o.phases.empty())
      diags_.error(o.pointer, "no phase uses optimizer " + quote(o.name) +
                                  ": name it in a phase (\"optimizer\": " + json(o.name).dump() +
                                  ") or remove it");
}

void Loader::warn_about_training(Graph& g) {
  // A module that nothing trains or loads keeps its random initial weights.
  for (size_t m = 0; m < g.modules.size(); ++m) {
    const bool updated = std::any_of(g.phases.begin(), g.phases.end(),
                                     [&](const PhaseSpec& p) { return p.updates(static_cast<int>(m)); });
    if (!updated && g.modules[m].weights.from.empty())
      g.warnings.push_back({file_, g.modules[m].pointer,
                            "warning: no phase updates module " + quote(g.modules[m].name) +
                                " and no \"weights\" load it, so it keeps its random initial weights"});
  }
  // Adversarial pair: phase Q trains B against A, which its loss reads while frozen. A phase that
  // updates both A and B lets B's own update undo what Q trained (a G phase that also updates D).
  std::vector<std::set<int>> read_by(g.phases.size());  // the modules each phase's loss reads
  for (size_t q = 0; q < g.phases.size(); ++q)
    if (g.phases[q].minimize.node >= 0) read_by[q] = modules_upstream(g, g.phases[q].minimize.node);
  for (size_t p = 0; p < g.phases.size(); ++p)
    for (size_t q = 0; q < g.phases.size(); ++q) {
      if (p == q || g.phases[q].minimize.node < 0) continue;
      const std::set<int>& read_by_q = read_by[q];
      for (const auto& b : g.phases[p].update) {
        if (!g.phases[q].updates(b.module)) continue;
        for (const auto& a : g.phases[p].update)
          if (a.module != b.module && !g.phases[q].updates(a.module) && read_by_q.count(a.module))
            g.warnings.push_back(
                {file_, g.phases[p].pointer + "/update",
                 "warning: phase " + quote(g.phases[p].name) + " updates both " +
                     quote(g.modules[a.module].name) + " and " + quote(g.modules[b.module].name) +
                     ", but phase " + quote(g.phases[q].name) + " trains " + quote(g.modules[b.module].name) +
                     " against a frozen " + quote(g.modules[a.module].name) + ": is " +
                     quote(g.modules[b.module].name) + " meant to be in this phase's \"update\"?"});
      }
    }
}

bool scalar_outputs(const Contract& c) {
  for (const auto& out : c.outputs())
    if (out.rank() != 0) return false;
  return true;
}

void Loader::load_eval(const json& e, Graph& g) {
  const std::string p = "/outputs/eval";
  if (!e.is_object()) {
    diags_.error(p, "expected an object such as {\"every\": 1000, \"samples\": 2500}");
    return;
  }
  check_keys(e, p, {"every", "samples", "metrics"});
  auto& spec = g.outputs.eval;
  spec.enabled = true;
  spec.every = integer_field(e, "every", p, spec.every, 1);
  spec.samples = integer_field(e, "samples", p, spec.samples, 1);
  std::vector<std::string> names;
  for (const auto& n : g.nodes) names.push_back(n.name);
  if (e.contains("metrics")) {
    const json& m = e["metrics"];
    if (!m.is_array()) {
      diags_.error(p + "/metrics", "expected an array of node names, found " + type_name(m));
      return;
    }
    for (size_t i = 0; i < m.size(); ++i) {
      const std::string at = p + "/metrics/" + std::to_string(i);
      if (!m[i].is_string()) {
        diags_.error(at, "expected a node name, found " + type_name(m[i]));
        continue;
      }
      const std::string name = m[i].get<std::string>();
      const int n = g.find_node(name);
      if (n < 0)
        diags_.error(at, "no node " + quote(name) + did_you_mean(name, names));
      else if (g.nodes[n].type && g.nodes[n].kind() != NodeKind::Function)
        diags_.error(at, "node " + quote(name) + " is a " + g.nodes[n].contract().type() +
                             ", not a function node that can score a draw");
      else if (g.nodes[n].type && !scalar_outputs(g.nodes[n].contract()))
        diags_.error(at,
                     "node " + quote(name) + " (" + g.nodes[n].contract().type() +
                         ") has outputs that are not single numbers; a metric gives one number per output");
      else
        spec.metrics.push_back(name);
    }
    if (m.empty())
      diags_.error(p + "/metrics", "an empty list; name metric nodes, or leave \"metrics\" out for all");
  } else {
    if (std::none_of(g.nodes.begin(), g.nodes.end(), [](const NodeEntry& n) { return n.is_metric(); }))
      diags_.error(
          p,
          "the graph has no node of a metrics/ type to evaluate; add one (e.g. metrics/mixture-modes) "
          "or list function nodes in \"metrics\"");
  }
}

std::string Loader::default_writer(const Graph& g, const PortRef& from, const std::string& pointer) {
  // The writers that declare themselves a default, by whether their input's rank fits.
  if (!g.nodes[from.node].type) return {};
  const PortSpec* out = g.nodes[from.node].contract().find_output(from.port);
  std::vector<std::string> fitting, all;
  for (const auto& [name, t] : registry_.types()) {
    const Contract& c = t.contract;
    if (c.kind() != NodeKind::Writer || !c.is_default_writer() || c.inputs().empty()) continue;
    all.push_back(name + " (" + c.inputs().front().shape + ")");
    const int rank = c.inputs().front().rank();
    if (rank < 0 || !out || out->rank() < 0 || rank == out->rank()) fitting.push_back(name);
  }
  if (fitting.size() == 1) return fitting.front();
  diags_.error(pointer + "/writer",
               (fitting.empty() ? "no default writer takes " : "several default writers take ") +
                   quote(g.port_name(from)) + " (shape " + quote(out ? out->shape : "?") +
                   "): name one with \"writer\" (default writers: " + list_names(all) + ")");
  return {};
}

void Loader::load_samples_grid(const json& s, const std::string& p, const std::string& name, Graph& g) {
  check_keys(s, p, {"from", "rows", "every", "writer", "params"});
  SamplesSpec spec;
  spec.name = name;
  spec.pointer = p;
  spec.every = integer_field(s, "every", p, spec.every, 1);
  if (s.contains("from") == s.contains("rows")) {
    diags_.error(p, s.contains("from") ? "give \"from\" or \"rows\", not both"
                                       : "missing field \"from\" (the node whose values are written) or "
                                         "\"rows\" (several, a row each)");
    return;
  }
  if (s.contains("from")) {
    PortRef r;
    if (resolve_ref(s["from"], p + "/from", g, r)) spec.rows.push_back(r);
  } else if (!s["rows"].is_array() || s["rows"].empty()) {
    diags_.error(p + "/rows",
                 "expected a list of outputs such as [\"real_a\", \"fake_b\", \"rec_a\"], a row each");
  } else {
    for (size_t i = 0; i < s["rows"].size(); ++i) {
      PortRef r;
      if (resolve_ref(s["rows"][i], p + "/rows/" + std::to_string(i), g, r)) spec.rows.push_back(r);
    }
  }
  if (spec.rows.empty()) return;
  std::string writer;
  if (const std::string* w = string_field(s, "writer", p, false))
    writer = *w;
  else
    writer = default_writer(g, spec.rows.front(), p);
  if (!writer.empty()) spec.writer = find_type(writer, p + "/writer", NodeKind::Writer, false);
  if (spec.writer) {
    spec.writer_params = check_params(spec.writer->contract, s, p);
    const std::string& row_length = spec.writer->contract.row_length_param_name();
    spec.row_length_given = !row_length.empty() && s.contains("params") && s["params"].is_object() &&
                            s["params"].contains(row_length);
    // A writer is checked against its contract as a node's input is, for every row.
    const auto& inputs = spec.writer->contract.inputs();
    if (inputs.empty())
      diags_.error(p + "/writer",
                   writer + " declares no input port, so it cannot be given \"from\" (a plugin bug)");
    else
      for (size_t i = 0; i < spec.rows.size(); ++i) {
        const std::string mismatch = port_mismatch(inputs.front(), g, spec.rows[i]);
        if (!mismatch.empty())
          diags_.error(p + (s.contains("from") ? "/from" : "/rows/" + std::to_string(i)),
                       "the samples writer " + writer + "'s " + mismatch);
      }
  }
  g.outputs.samples.push_back(std::move(spec));
}

void Loader::load_outputs(const json& outputs, Graph& g) {
  if (!outputs.is_object()) {
    diags_.error("/outputs", "expected an object, found " + type_name(outputs));
    return;
  }
  check_keys(outputs, "/outputs", {"samples", "checkpoint", "log", "eval"});
  if (outputs.contains("samples")) {
    const json& s = outputs["samples"];
    static const std::vector<std::string> grid_keys{"from", "rows", "every", "writer", "params"};
    const bool single =
        s.is_object() && (s.empty() || std::any_of(s.items().begin(), s.items().end(), [](const auto& kv) {
                            return std::find(grid_keys.begin(), grid_keys.end(), kv.key()) != grid_keys.end();
                          }));
    if (!s.is_object()) {
      diags_.error("/outputs/samples",
                   "expected an object such as {\"from\": \"fake\", \"every\": 500}, or named grids such as "
                   "{\"a2b\": {\"rows\": [\"real_a\", \"fake_b\"]}}");
    } else if (single) {
      load_samples_grid(s, "/outputs/samples", "", g);
    } else {
      for (const auto& [name, grid] : s.items()) {
        const std::string p = "/outputs/samples" + json_pointer({name});
        if (!valid_graph_name(name))
          diags_.error(p, "a grid's name uses letters, digits, '_' and '-' (it names the grid's files)");
        else if (!grid.is_object())
          diags_.error(
              p, "expected a grid such as {\"rows\": [\"real_a\", \"fake_b\"], \"every\": 500}, found " +
                     type_name(grid));
        else
          load_samples_grid(grid, p, name, g);
      }
    }
  }
  if (outputs.contains("checkpoint")) {
    const json& c = outputs["checkpoint"];
    if (!c.is_object()) {
      diags_.error("/outputs/checkpoint", "expected an object such as {\"every\": 1000}");
    } else {
      check_keys(c, "/outputs/checkpoint", {"every", "keep"});
      g.outputs.checkpoint_every =
          integer_field(c, "every", "/outputs/checkpoint", g.outputs.checkpoint_every, 1);
      g.outputs.keep_checkpoints =
          integer_field(c, "keep", "/outputs/checkpoint", g.outputs.keep_checkpoints, 1);
    }
  }
  if (outputs.contains("eval")) load_eval(outputs["eval"], g);
  if (outputs.contains("log")) {
    const json& l = outputs["log"];
    if (!l.is_object()) {
      diags_.error("/outputs/log", "expected an object such as {\"every\": 10}");
    } else {
      check_keys(l, "/outputs/log", {"every"});
      g.outputs.log_every = integer_field(l, "every", "/outputs/log", g.outputs.log_every, 1);
    }
  }
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

}  // namespace

Graph build_graph(json document, const std::string& file, const PluginRegistry& registry,
                  Completeness completeness, std::vector<Diagnostic>* unfinished) {
  Loader loader(file, registry, completeness);
  Graph g = loader.build(std::move(document));
  if (unfinished) *unfinished = loader.todo_;
  return g;
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
