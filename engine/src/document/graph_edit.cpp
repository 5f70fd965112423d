#include "ganglion/engine/graph_edit.h"

#include <algorithm>

#include "ganglion/engine/atomic_file.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/user_error.h"

namespace ganglion {

namespace {

using Json = GraphDocument;

[[noreturn]] void fail(const std::string& message) { throw UserError("edit: " + message); }

std::string quote(const std::string& s) { return "\"" + s + "\""; }

void require_name(const std::string& s, const char* what) {
  if (!valid_graph_name(s))
    fail(std::string(what) + " name " + quote(s) +
         " is not valid: use letters, digits, _ and -, starting with a letter");
}

/// "key=value" -> (key, value as JSON, else as a string).
std::pair<std::string, Json> assignment(const std::string& word) {
  const auto eq = word.find('=');
  if (eq == std::string::npos || eq == 0) fail("expected KEY=VALUE, found " + quote(word));
  const std::string text = word.substr(eq + 1);
  Json value;
  try {
    value = Json::parse(text);
  } catch (const nlohmann::json::exception&) {
    value = text;
  }
  return {word.substr(0, eq), value};
}

Json& section(Json& doc, const char* key, Json empty) {
  if (!doc.contains(key)) doc[key] = std::move(empty);
  return doc[key];
}

bool is_module(const Json& doc, const std::string& name) {
  return doc.contains("modules") && doc["modules"].is_object() && doc["modules"].contains(name);
}
bool is_node(const Json& doc, const std::string& name) {
  return doc.contains("nodes") && doc["nodes"].is_object() && doc["nodes"].contains(name);
}

std::vector<std::string> keys_of(const Json& object) {
  std::vector<std::string> out;
  if (object.is_object())
    for (const auto& [k, _] : object.items()) out.push_back(k);
  return out;
}

Json& node_entry(Json& doc, const std::string& name) {
  if (!is_node(doc, name))
    fail("no node " + quote(name) + did_you_mean(name, keys_of(doc.value("nodes", Json::object()))));
  return doc["nodes"][name];
}

Json& module_entry(Json& doc, const std::string& name) {
  if (!is_module(doc, name))
    fail("no module " + quote(name) + did_you_mean(name, keys_of(doc.value("modules", Json::object()))));
  return doc["modules"][name];
}

Json& phase_entry(Json& doc, const std::string& name) {
  std::vector<std::string> names;
  if (doc.contains("phases") && doc["phases"].is_array())
    for (auto& p : doc["phases"]) {
      if (p.value("name", "") == name) return p;
      names.push_back(p.value("name", ""));
    }
  fail("no phase " + quote(name) + did_you_mean(name, names));
}

const RegisteredType& find_type(const PluginRegistry& registry, const std::string& type) {
  const RegisteredType* t = registry.find(type);
  if (!t) fail("unknown node type " + quote(type) + did_you_mean(type, registry.type_names()));
  return *t;
}

/// The contract's params at their defaults (required ones without a default left out), then the
/// given ones.
Json params_from(const Contract& contract, const std::map<std::string, Json>& given) {
  Json params = Json::object();
  for (const auto& p : contract.params())
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (!std::is_same_v<T, std::monostate>) params[p.name] = v;
        },
        p.default_value);
  for (const auto& [k, v] : given) params[k] = v;
  return params;
}

/// Splits `key=value` words into params and `in.PORT=REF` connections.
void split_assignments(const std::vector<std::string>& words, size_t from,
                       std::map<std::string, Json>& params, Json& inputs) {
  for (size_t i = from; i < words.size(); ++i) {
    auto [key, value] = assignment(words[i]);
    if (key.rfind("in.", 0) == 0) {
      if (!value.is_string()) fail(words[i] + ": an input connects to a reference such as \"node.port\"");
      inputs[key.substr(3)] = value;
    } else {
      params[key] = value;
    }
  }
}

/// Every place that refers to node `name`: (description, pointer into a reference string).
struct NodeRef {
  std::string where;
  Json* value;
};

/// The samples grids of a document, by where they are: outputs.samples itself ({"from": ...} or
/// {"rows": [...]}), or each of its named grids.
std::vector<std::pair<std::string, Json*>> samples_grids(Json& doc) {
  std::vector<std::pair<std::string, Json*>> out;
  if (!doc.contains("outputs") || !doc["outputs"].is_object() || !doc["outputs"].contains("samples"))
    return out;
  Json& samples = doc["outputs"]["samples"];
  if (!samples.is_object()) return out;
  if (samples.contains("from") || samples.contains("rows") || samples.empty() ||
      !samples.begin()->is_object()) {
    out.emplace_back("outputs.samples", &samples);
    return out;
  }
  for (auto& [name, grid] : samples.items())
    if (grid.is_object()) out.emplace_back("outputs.samples." + name, &grid);
  return out;
}

bool refers_to(const Json& value, const std::string& node) {
  // An input may be {"from": "node.port", "stale": true} (or "previous": true).
  const Json& ref = value.is_object() && value.contains("from") ? value["from"] : value;
  if (!ref.is_string()) return false;
  const std::string s = ref.get<std::string>();
  return s == node || s.rfind(node + ".", 0) == 0;
}

std::vector<NodeRef> references_to_node(Json& doc, const std::string& name) {
  std::vector<NodeRef> out;
  if (doc.contains("nodes") && doc["nodes"].is_object())
    for (auto& [node, entry] : doc["nodes"].items())
      if (entry.is_object() && entry.contains("in") && entry["in"].is_object())
        for (auto& [port, ref] : entry["in"].items())
          if (refers_to(ref, name))
            out.push_back({"input " + node + "." + port, ref.is_object() ? &ref["from"] : &ref});
  if (doc.contains("phases") && doc["phases"].is_array())
    for (auto& p : doc["phases"])
      if (p.is_object() && refers_to(p.value("minimize", Json()), name))
        out.push_back({"phase " + p.value("name", "?") + " (minimize)", &p["minimize"]});
  for (auto& [where, grid] : samples_grids(doc)) {
    if (refers_to(grid->value("from", Json()), name)) out.push_back({where + ".from", &(*grid)["from"]});
    if (grid->contains("rows") && (*grid)["rows"].is_array())
      for (size_t i = 0; i < (*grid)["rows"].size(); ++i)
        if (refers_to((*grid)["rows"][i], name))
          out.push_back({where + ".rows[" + std::to_string(i) + "]", &(*grid)["rows"][i]});
  }
  return out;
}

/// The renamed reference: "old" -> "new", "old.port" -> "new.port".
std::string renamed_ref(const std::string& ref, const std::string& old_name, const std::string& new_name) {
  return new_name + ref.substr(old_name.size());
}

void apply_phase_settings(Json& phase, const std::vector<std::string>& words, size_t from, const Json& doc) {
  static const std::vector<std::string> optimizer_keys{"lr",    "betas", "momentum",
                                                       "alpha", "eps",   "weight_decay"};
  static const std::vector<std::string> all_keys{"every",  "repeat", "from",        "optimizer", "minimize",
                                                 "update", "lr",     "betas",       "momentum",  "alpha",
                                                 "eps",    "lazy",   "weight_decay"};
  for (size_t i = from; i < words.size(); ++i) {
    auto [key, value] = assignment(words[i]);
    const bool shared = phase.contains("optimizer") && phase["optimizer"].is_string();
    if (key == "every" || key == "repeat" || key == "from" || key == "minimize" || key == "lazy") {
      phase[key] = value;
    } else if (key == "optimizer") {
      // A type gives the phase an optimizer of its own; any other name, one of the graph's
      // "optimizers" (the loader checks that it exists).
      const bool type = value == "adam" || value == "sgd" || value == "rmsprop";
      if (type && shared)
        phase["optimizer"] = Json::object({{"type", value}});
      else if (type)
        phase["optimizer"]["type"] = value;
      else
        phase["optimizer"] = value;
    } else if (shared &&
               std::find(optimizer_keys.begin(), optimizer_keys.end(), key) != optimizer_keys.end()) {
      fail("the phase steps the shared optimizer " + phase["optimizer"].dump() + ": its " + key +
           " is set under /optimizers/" + phase["optimizer"].get<std::string>() +
           " (no verb edits named optimizers yet: edit the file), or give the phase its own with "
           "optimizer=adam");
    } else if (std::find(optimizer_keys.begin(), optimizer_keys.end(), key) != optimizer_keys.end()) {
      if (key == "betas" && value.is_string())
        value = Json::parse("[" + value.get<std::string>() + "]", nullptr, false);
      phase["optimizer"][key] = value;
    } else if (key == "update") {
      Json list = Json::array();
      std::string names = value.is_string() ? value.get<std::string>() : value.dump();
      size_t start = 0;
      while (start <= names.size()) {
        const auto comma = names.find(',', start);
        const std::string m =
            names.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        if (!m.empty()) {
          if (!is_module(doc, m))
            fail("no module " + quote(m) + did_you_mean(m, keys_of(doc.value("modules", Json::object()))));
          list.push_back(m);
        }
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      phase["update"] = list;
    } else {
      fail("a phase has no setting " + quote(key) + did_you_mean(key, all_keys));
    }
  }
}

void remove_node(Json& doc, const std::string& name, bool force, std::vector<std::string>& notes);

void remove_module(Json& doc, const std::string& name, bool force, std::vector<std::string>& notes) {
  std::vector<std::string> appliers, updaters;
  if (doc.contains("nodes") && doc["nodes"].is_object())
    for (auto& [node, entry] : doc["nodes"].items())
      if (entry.is_object() && entry.value("apply", "") == name) appliers.push_back(node);
  if (doc.contains("phases"))
    for (auto& p : doc["phases"])
      for (auto& u : p.value("update", Json::array()))
        if ((u.is_string() && u == name) || (u.is_object() && u.value("module", "") == name))
          updaters.push_back(p.value("name", "?"));
  if ((!appliers.empty() || !updaters.empty()) && !force) {
    std::string what;
    for (const auto& a : appliers) what += (what.empty() ? "" : ", ") + ("node " + a);
    for (const auto& u : updaters) what += (what.empty() ? "" : ", ") + ("phase " + u);
    fail("module " + quote(name) + " is still used by " + what +
         ": remove them first, or pass --force to remove them too");
  }
  for (const auto& a : appliers) remove_node(doc, a, true, notes);
  if (doc.contains("phases")) {
    Json kept = Json::array();
    for (auto& p : doc["phases"]) {
      Json update = Json::array();
      for (auto& u : p.value("update", Json::array()))
        if (!((u.is_string() && u == name) || (u.is_object() && u.value("module", "") == name)))
          update.push_back(u);
      if (update.empty() && p.contains("update")) {
        notes.push_back("removed phase " + p.value("name", "?") + " (it updated only " + name + ")");
        continue;
      }
      p["update"] = update;
      kept.push_back(p);
    }
    doc["phases"] = kept;
  }
  doc["modules"].erase(name);
}

void remove_node(Json& doc, const std::string& name, bool force, std::vector<std::string>& notes) {
  if (!is_node(doc, name)) return;  // already removed by a cascade
  auto refs = references_to_node(doc, name);
  if (!refs.empty() && !force) {
    std::string what;
    for (const auto& r : refs) what += (what.empty() ? "" : ", ") + r.where;
    fail("node " + quote(name) + " is still read by " + what +
         ": disconnect them first, or pass --force to cut them (phases minimising it are removed)");
  }
  // Cut inputs reading it; drop phases minimising it; drop samples from it.
  for (auto& [node, entry] : doc["nodes"].items())
    if (entry.is_object() && entry.contains("in"))
      for (const auto& port : keys_of(entry["in"]))
        if (refers_to(entry["in"][port], name)) {
          entry["in"].erase(port);
          notes.push_back("disconnected " + node + "." + port);
        }
  if (doc.contains("phases")) {
    Json kept = Json::array();
    for (auto& p : doc["phases"])
      if (refers_to(p.value("minimize", Json()), name))
        notes.push_back("removed phase " + p.value("name", "?"));
      else
        kept.push_back(p);
    doc["phases"] = kept;
  }
  // A grid loses the rows it reads; a grid left with nothing to write goes.
  std::vector<std::string> emptied;
  for (auto& [where, grid] : samples_grids(doc)) {
    bool empty = refers_to(grid->value("from", Json()), name);
    if (grid->contains("rows") && (*grid)["rows"].is_array()) {
      Json rows = Json::array();
      for (const auto& r : (*grid)["rows"])
        if (!refers_to(r, name)) rows.push_back(r);
      if (rows.size() != (*grid)["rows"].size()) notes.push_back("dropped its rows from " + where);
      (*grid)["rows"] = rows;
      empty = empty || rows.empty();
    }
    if (empty) emptied.push_back(where);
  }
  for (const auto& where : emptied) {
    if (where == "outputs.samples")
      doc["outputs"].erase("samples");
    else
      doc["outputs"]["samples"].erase(where.substr(std::string("outputs.samples.").size()));
    notes.push_back("removed " + where);
  }
  if (doc.contains("outputs") && doc["outputs"].contains("samples") &&
      doc["outputs"]["samples"].is_object() && doc["outputs"]["samples"].empty())
    doc["outputs"].erase("samples");
  doc["nodes"].erase(name);
}

std::string joined(const std::vector<std::string>& notes) {
  std::string out;
  for (const auto& n : notes) out += "; " + n;
  return out;
}

}  // namespace

GraphDocument new_graph_document(const std::string& name, const std::string& schema) {
  Json doc = Json::object();
  if (!schema.empty()) doc["$schema"] = schema;
  doc["ganglion"] = 1;
  doc["name"] = name;
  doc["seed"] = 1;
  doc["modules"] = Json::object();
  doc["nodes"] = Json::object();
  doc["phases"] = Json::array();
  return doc;
}

namespace {

using Words = std::vector<std::string>;

EditResult edit_add_module(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  const std::string& name = words[1];
  require_name(name, "module");
  if (is_module(doc, name)) fail("there is already a module " + quote(name));
  const RegisteredType& t = find_type(registry, words[2]);
  if (t.contract.kind() != NodeKind::Module)
    fail(quote(words[2]) + " is a " + to_string(t.contract.kind()) + ", not a module: use add-node");
  std::map<std::string, Json> params;
  Json inputs = Json::object();
  split_assignments(words, 3, params, inputs);
  if (!inputs.empty()) fail("a module has no inputs of its own: connect the nodes that apply it");
  Json entry = Json::object();
  entry["type"] = words[2];
  entry["params"] = params_from(t.contract, params);
  section(doc, "modules", Json::object())[name] = entry;
  return {"added module " + name + " (" + words[2] + ")"};
}

EditResult edit_add_node(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  const std::string& name = words[1];
  require_name(name, "node");
  if (is_node(doc, name)) fail("there is already a node " + quote(name));
  std::map<std::string, Json> params;
  Json inputs = Json::object();
  split_assignments(words, 3, params, inputs);
  Json entry = Json::object();
  std::string what;
  if (is_module(doc, words[2])) {
    if (!params.empty())
      fail("a node applying module " + words[2] + " takes no params: set them on the module");
    entry["apply"] = words[2];
    what = "applies " + words[2];
  } else {
    const RegisteredType& t = find_type(registry, words[2]);
    const NodeKind kind = t.contract.kind();
    if (kind == NodeKind::Module)
      fail(quote(words[2]) + " is a module type: add-module NAME " + words[2] + ", then add-node " + name +
           " NAME");
    if (kind == NodeKind::Writer)
      fail(quote(words[2]) + " is a writer: use set-output samples writer=" + words[2]);
    if (kind == NodeKind::Layer)
      fail(quote(words[2]) + " is a layer: set it as a network's " + t.contract.layer_family() +
           " param, e.g. set G " + t.contract.layer_family() + "=" + words[2]);
    entry["type"] = words[2];
    entry["params"] = params_from(t.contract, params);
    what = words[2];
  }
  if (!inputs.empty()) entry["in"] = inputs;
  section(doc, "nodes", Json::object())[name] = entry;
  return {"added node " + name + " (" + what + ")"};
}

EditResult edit_connect(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  const auto dot = words[2].find('.');
  if (dot == std::string::npos) fail("name the input to connect as NODE.INPUT, e.g. fake.z");
  Json& entry = node_entry(doc, words[2].substr(0, dot));
  const std::string source = words[1].substr(0, words[1].find('.'));
  if (!is_node(doc, source)) fail("no node " + quote(source) + did_you_mean(source, keys_of(doc["nodes"])));
  section(entry, "in", Json::object())[words[2].substr(dot + 1)] = words[1];
  return {"connected " + words[1] + " to " + words[2]};
}

EditResult edit_disconnect(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  const auto dot = words[1].find('.');
  if (dot == std::string::npos) fail("name the input as NODE.INPUT");
  Json& entry = node_entry(doc, words[1].substr(0, dot));
  const std::string port = words[1].substr(dot + 1);
  if (!entry.contains("in") || !entry["in"].contains(port)) fail(words[1] + " is not connected");
  entry["in"].erase(port);
  if (entry["in"].empty()) entry.erase("in");
  return {"disconnected " + words[1]};
}

EditResult set_or_unset(Json& doc, const Words& words, bool setting) {
  const std::string verb = setting ? "set" : "unset";
  const std::string& name = words[1];
  const bool module = is_module(doc, name) && !is_node(doc, name);
  Json& entry = module ? module_entry(doc, name) : node_entry(doc, name);
  std::string changed;
  for (size_t i = 2; i < words.size(); ++i) {
    if (verb == "set") {
      auto [key, value] = assignment(words[i]);
      if (key.rfind("in.", 0) == 0)
        section(entry, "in", Json::object())[key.substr(3)] = value;
      else if (key == "draw" && !module)
        entry["draw"] = value;
      else if (key == "apply" && !module && entry.contains("apply"))
        entry["apply"] = value;  // re-points the node at another module; validation checks the fit
      else if (key.rfind("ema.", 0) == 0 && module)
        section(entry, "ema", Json::object())[key.substr(4)] = value;
      else
        section(entry, "params", Json::object())[key] = value;
      changed += (changed.empty() ? "" : ", ") + key;
    } else {
      const std::string& key = words[i];
      Json* holder = key.rfind("ema.", 0) == 0  ? (entry.contains("ema") ? &entry["ema"] : nullptr)
                     : key == "draw"            ? &entry
                     : key.rfind("in.", 0) == 0 ? (entry.contains("in") ? &entry["in"] : nullptr)
                                                : (entry.contains("params") ? &entry["params"] : nullptr);
      const std::string field = key.rfind("ema.", 0) == 0  ? key.substr(4)
                                : key.rfind("in.", 0) == 0 ? key.substr(3)
                                                           : key;
      if (!holder || !holder->contains(field)) fail(name + " has no " + quote(key) + " set");
      holder->erase(field);
      changed += (changed.empty() ? "" : ", ") + key;
    }
  }
  return {(verb == "set" ? "set " : "unset ") + changed + " on " + name};
}

EditResult edit_rename(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  const std::string &old_name = words[1], &new_name = words[2];
  if (old_name == new_name) fail("the new name is the old one");
  if (is_node(doc, old_name)) {
    require_name(new_name, "node");
    if (is_node(doc, new_name)) fail("there is already a node " + quote(new_name));
    for (auto& r : references_to_node(doc, old_name))
      *r.value = renamed_ref(r.value->get<std::string>(), old_name, new_name);
    Json renamed = Json::object();
    for (auto& [k, v] : doc["nodes"].items()) renamed[k == old_name ? new_name : k] = v;  // keeps its place
    doc["nodes"] = renamed;
    return {"renamed node " + old_name + " to " + new_name + " (every reference follows)"};
  }
  if (is_module(doc, old_name)) {
    require_name(new_name, "module");
    if (is_module(doc, new_name)) fail("there is already a module " + quote(new_name));
    if (doc.contains("nodes") && doc["nodes"].is_object())
      for (auto& [node, entry] : doc["nodes"].items())
        if (entry.is_object() && entry.value("apply", "") == old_name) entry["apply"] = new_name;
    if (doc.contains("phases"))
      for (auto& p : doc["phases"])
        if (p.contains("update"))
          for (auto& u : p["update"]) {
            if (u.is_string() && u == old_name)
              u = new_name;
            else if (u.is_object() && u.value("module", "") == old_name)
              u["module"] = new_name;
          }
    Json renamed = Json::object();
    for (auto& [k, v] : doc["modules"].items()) renamed[k == old_name ? new_name : k] = v;
    doc["modules"] = renamed;
    return {"renamed module " + old_name + " to " + new_name + " (every reference follows)"};
  }
  std::vector<std::string> names = keys_of(doc.value("nodes", Json::object()));
  for (const auto& m : keys_of(doc.value("modules", Json::object()))) names.push_back(m);
  fail("no node or module " + quote(old_name) + did_you_mean(old_name, names));
}

EditResult edit_remove(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  std::vector<std::string> notes;
  if (is_node(doc, words[1])) {
    remove_node(doc, words[1], force, notes);
    return {"removed node " + words[1] + joined(notes)};
  }
  if (is_module(doc, words[1])) {
    remove_module(doc, words[1], force, notes);
    return {"removed module " + words[1] + joined(notes)};
  }
  std::vector<std::string> names = keys_of(doc.value("nodes", Json::object()));
  for (const auto& m : keys_of(doc.value("modules", Json::object()))) names.push_back(m);
  fail("no node or module " + quote(words[1]) + did_you_mean(words[1], names));
}

EditResult edit_add_phase(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  Json& phases = section(doc, "phases", Json::array());
  for (auto& p : phases)
    if (p.value("name", "") == words[1]) fail("there is already a phase " + quote(words[1]));
  Json phase = Json::object();
  phase["name"] = words[1];
  phase["minimize"] = words[2];
  std::vector<std::string> settings{"", "update=" + words[3]};
  apply_phase_settings(phase, settings, 1, doc);
  apply_phase_settings(phase, words, 4, doc);
  phases.push_back(phase);
  return {"added phase " + words[1]};
}

EditResult edit_set_phase(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  apply_phase_settings(phase_entry(doc, words[1]), words, 2, doc);
  return {"changed phase " + words[1]};
}

EditResult edit_remove_phase(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  phase_entry(doc, words[1]);  // exists, or a clear message
  Json kept = Json::array();
  for (auto& p : doc["phases"])
    if (p.value("name", "") != words[1]) kept.push_back(p);
  doc["phases"] = kept;
  return {"removed phase " + words[1]};
}

EditResult edit_set_output(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  const std::string& which = words[1];
  if (which != "samples" && which != "checkpoint" && which != "log")
    fail("outputs are samples, checkpoint and log, not " + quote(which));
  Json& out = section(section(doc, "outputs", Json::object()), which.c_str(), Json::object());
  for (size_t i = 2; i < words.size(); ++i) {
    auto [key, value] = assignment(words[i]);
    const bool own = key == "every" || (which == "samples" && (key == "from" || key == "writer")) ||
                     (which == "checkpoint" && key == "keep");
    if (own)
      out[key] = value;
    else if (which == "samples")
      section(out, "params", Json::object())[key] = value;  // the writer's
    else
      fail(which + " has no setting " + quote(key));
  }
  return {"changed outputs." + which};
}

EditResult edit_set_graph(Json& doc, const Words& words, const PluginRegistry& registry, bool force) {
  (void)registry;
  (void)force;
  for (size_t i = 1; i < words.size(); ++i) {
    auto [key, value] = assignment(words[i]);
    if (key != "name" && key != "seed" && key != "steps" && key != "description")
      fail("the graph has no setting " + quote(key) +
           did_you_mean(key, {"name", "seed", "steps", "description"}));
    doc[key] = value;
  }
  return {"changed the graph's settings"};
}

}  // namespace

const std::vector<EditVerb>& edit_verbs() {
  using A = EditArg;
  static const std::vector<EditVerb> table{
      {"add-module",
       "NAME TYPE [P=V...]",
       "a module; params start at the contract's defaults",
       3,
       {A::NewName, A::ModuleType, A::ParamsOfType},
       edit_add_module},
      {"add-node",
       "NAME TYPE|MODULE [P=V...] [in.PORT=REF...]",
       "a function or source node, or a node applying a module",
       3,
       {A::NewName, A::NodeTypeOrModule, A::ParamsOfType},
       edit_add_node},
      {"connect",
       "NODE[.PORT] NODE.INPUT",
       "connect an output to an input",
       3,
       {A::OutputRef, A::InputRef},
       edit_connect},
      {"disconnect", "NODE.INPUT", "disconnect an input", 2, {A::InputRef}, edit_disconnect},
      {"set",
       "NAME P=V...",
       "params of a node or module (also in.PORT, draw, ema.beta, and apply=MODULE to re-point a module "
       "node)",
       3,
       {A::NodeOrModule, A::ParamsOfEntry},
       [](Json& doc, const Words& words, const PluginRegistry&, bool) {
         return set_or_unset(doc, words, true);
       }},
      {"unset",
       "NAME P...",
       "back to the contract's default (or unconnected, for in.PORT)",
       3,
       {A::NodeOrModule, A::ParamsOfEntry},
       [](Json& doc, const Words& words, const PluginRegistry&, bool) {
         return set_or_unset(doc, words, false);
       }},
      {"rename",
       "OLD NEW",
       "a node or module; every reference follows",
       3,
       {A::NodeOrModule, A::NewName},
       edit_rename},
      {"remove",
       "NAME [--force]",
       "refuses while something uses it; --force cuts those too",
       2,
       {A::NodeOrModule},
       edit_remove},
      {"add-phase",
       "NAME MINIMIZE M[,M...] [S=V...]",
       "settings: every, repeat, from, lazy, optimizer (a type, or the name of one of the graph's "
       "optimizers), lr, betas, momentum, alpha, eps, weight_decay",
       4,
       {A::NewName, A::OutputRef, A::Module, A::PhaseSettings},
       edit_add_phase},
      {"set-phase",
       "NAME S=V...",
       "change a phase's settings (also minimize, update)",
       3,
       {A::Phase, A::PhaseChanges},
       edit_set_phase},
      {"remove-phase", "NAME", "remove a phase", 2, {A::Phase}, edit_remove_phase},
      {"set-output",
       "samples|checkpoint|log S=V...",
       "samples: from, every, writer, and the writer's params",
       3,
       {A::OutputSection, A::OutputSettings},
       edit_set_output},
      {"set-graph",
       "name|seed|steps|description=V...",
       "the graph's own settings",
       2,
       {A::GraphSettings},
       edit_set_graph},
  };
  return table;
}

const EditVerb* find_edit_verb(const std::string& name) {
  for (const auto& v : edit_verbs())
    if (name == v.name) return &v;
  return nullptr;
}

EditResult apply_edit(GraphDocument& doc, const std::vector<std::string>& words,
                      const PluginRegistry& registry, bool force) {
  if (words.empty()) fail("no verb given (see ganglion edit --help)");
  if (!doc.is_object()) fail("the graph file does not hold a JSON object");
  const EditVerb* verb = find_edit_verb(words[0]);
  if (!verb) {
    std::vector<std::string> names;
    for (const auto& v : edit_verbs()) names.push_back(v.name);
    fail("unknown verb " + quote(words[0]) + did_you_mean(words[0], names) + " (see ganglion edit --help)");
  }
  if (words.size() < verb->min_words) fail(std::string("usage: ") + verb->name + " " + verb->usage);
  return verb->apply(doc, words, registry, force);
}

std::vector<std::string> split_edit_line(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote_char = 0;
  for (char c : line) {
    if (quote_char) {
      if (c == quote_char)
        quote_char = 0;
      else
        word += c;
    } else if (c == '\'' || c == '"') {
      quote_char = c;
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) words.push_back(word), word.clear(), in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote_char) fail("a quote is not closed");
  if (in_word) words.push_back(word);
  return words;
}

void write_graph_document(const std::string& path, const GraphDocument& document) {
  write_text_atomically(path, document.dump(2) + "\n");
}

}  // namespace ganglion
