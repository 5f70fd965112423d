// Modules and nodes: their types, params (layers, groups) and inputs (references, port groups,
// stale references).
#include "document/loader.h"

namespace ganglion::loading {

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
      // phase computed, read even though a module it depends on has been updated since, or
      // {"from": "node.port", "previous": true} for the value of an earlier iteration.
      const json* ref = &value;
      bool stale = false, previous = false, flags_ok = true;
      if (value.is_object()) {
        check_keys(value, where, {"from", "stale", "previous"});
        if (!value.contains("from")) {
          diags_.error(where, "missing field \"from\" (the node whose value this input reads)");
          continue;
        }
        ref = &value["from"];
        for (const auto& [key, flag] :
             {std::pair<const char*, bool*>{"stale", &stale}, {"previous", &previous}}) {
          if (!value.contains(key)) continue;
          if (!value[key].is_boolean()) {
            diags_.error(where + "/" + key, "expected true or false, found " + type_name(value[key]));
            flags_ok = false;
          } else {
            *flag = value[key].get<bool>();
          }
        }
        if (!flags_ok) continue;
        if (stale && previous) {
          diags_.error(where,
                       "an input is either stale (an earlier phase's value) or previous (an earlier "
                       "iteration's value), not both: drop one");
          continue;
        }
        if (previous && spec->group) {
          diags_.error(where, "input " + quote(port) + " of " + c.type() +
                                  " belongs to a group of inputs, which cannot read a previous-iteration "
                                  "value: give it to an optional input of its own");
          continue;
        }
        if (previous && !spec->optional) {
          diags_.error(where, "input " + quote(port) + " of " + c.type() +
                                  " is required, but a previous-iteration value is absent in the first "
                                  "iteration: only an optional input can read one");
          continue;
        }
      }
      PortRef r;
      if (!resolve_ref(*ref, value.is_object() ? where + "/from" : where, g, r)) continue;
      const std::string mismatch = port_mismatch(*spec, g, r);
      if (!mismatch.empty()) {
        diags_.error(where, mismatch);
        continue;
      }
      if (previous) {
        n.previous_inputs[port] = r;
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

CheckedNodeEntry Loader::check_entry(const json& entry, const std::vector<std::string>& inputs) {
  CheckedNodeEntry out;
  lone_entry_ = true;
  if (!entry.is_object()) {
    diags_.error(
        "", "expected a node entry such as {\"type\": \"nets/dcgan-generator\", \"params\": {}}, found " +
                type_name(entry));
    diags_.throw_if_any();
  }
  check_keys(entry, "", {"type", "params", "doc"});
  const std::string* type = string_field(entry, "type", "", true);
  const RegisteredType* found = type ? registry_.find(*type) : nullptr;
  if (type) {
    // Whatever its kind: a module is checked as a module entry, the rest as nodes.
    const NodeKind kind = found ? found->contract.kind() : NodeKind::Function;
    out.type = find_type(*type, "/type", kind, kind == NodeKind::Module);
  }
  if (!out.type) {
    diags_.throw_if_any();
    return out;
  }
  const Contract& c = out.type->contract;
  NodeEntry n;
  n.type = out.type;
  n.params = check_params(c, entry, "");
  std::vector<std::string> ports;
  for (const auto& spec : c.inputs()) ports.push_back(spec.group ? spec.name + ".MEMBER" : spec.name);
  for (const auto& port : inputs) {
    if (c.find_input(port))
      n.inputs[port] = PortRef{};
    else
      diags_.error("", c.type() + " has no input " + quote(port) + did_you_mean(port, ports) +
                           "; its inputs: " + list_names(ports));
  }
  check_param_groups(n);
  diags_.throw_if_any();
  out.params = std::move(n.params);
  return out;
}

}  // namespace ganglion::loading
