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
  // An input may be {"from": "node.port", "stale": true}.
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

void need(const std::vector<std::string>& words, size_t count, const char* usage) {
  if (words.size() < count) fail(std::string("usage: ") + usage);
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

EditResult apply_edit(GraphDocument& doc, const std::vector<std::string>& words,
                      const PluginRegistry& registry, bool force) {
  if (words.empty()) fail("no verb given (see ganglion edit --help)");
  if (!doc.is_object()) fail("the graph file does not hold a JSON object");
  const std::string& verb = words[0];
  if (verb == "add-module") {
    need(words, 3, "add-module NAME TYPE [PARAM=VALUE...]");
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
  if (verb == "add-node") {
    need(words, 3, "add-node NAME TYPE|MODULE [PARAM=VALUE...] [in.PORT=NODE[.PORT]...]");
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
  if (verb == "connect") {
    need(words, 3, "connect NODE[.PORT] NODE.INPUT");
    const auto dot = words[2].find('.');
    if (dot == std::string::npos) fail("name the input to connect as NODE.INPUT, e.g. fake.z");
    Json& entry = node_entry(doc, words[2].substr(0, dot));
    const std::string source = words[1].substr(0, words[1].find('.'));
    if (!is_node(doc, source)) fail("no node " + quote(source) + did_you_mean(source, keys_of(doc["nodes"])));
    section(entry, "in", Json::object())[words[2].substr(dot + 1)] = words[1];
    return {"connected " + words[1] + " to " + words[2]};
  }
  if (verb == "disconnect") {
    need(words, 2, "disconnect NODE.INPUT");
    const auto dot = words[1].find('.');
    if (dot == std::string::npos) fail("name the input as NODE.INPUT");
    Json& entry = node_entry(doc, words[1].substr(0, dot));
    const std::string port = words[1].substr(dot + 1);
    if (!entry.contains("in") || !entry["in"].contains(port)) fail(words[1] + " is not connected");
    entry["in"].erase(port);
    if (entry["in"].empty()) entry.erase("in");
    return {"disconnected " + words[1]};
  }
  if (verb == "set" || verb == "unset") {
    need(words, 3, verb == "set" ? "set NODE|MODULE PARAM=VALUE..." : "unset NODE|MODULE PARAM...");
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
  if (verb == "rename") {
    need(words, 3, "rename OLD NEW");
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
  if (verb == "remove") {
    need(words, 2, "remove NODE|MODULE [--force]");
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
  if (verb == "add-phase") {
    need(words, 4, "add-phase NAME MINIMIZE MODULE[,MODULE...] [SETTING=VALUE...]");
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
  if (verb == "set-phase") {
    need(words, 3, "set-phase NAME SETTING=VALUE...");
    apply_phase_settings(phase_entry(doc, words[1]), words, 2, doc);
    return {"changed phase " + words[1]};
  }
  if (verb == "remove-phase") {
    need(words, 2, "remove-phase NAME");
    phase_entry(doc, words[1]);  // exists, or a clear message
    Json kept = Json::array();
    for (auto& p : doc["phases"])
      if (p.value("name", "") != words[1]) kept.push_back(p);
    doc["phases"] = kept;
    return {"removed phase " + words[1]};
  }
  if (verb == "set-output") {
    need(words, 3, "set-output samples|checkpoint|log SETTING=VALUE...");
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
  if (verb == "set-graph") {
    need(words, 2, "set-graph name|seed|steps|description=VALUE...");
    for (size_t i = 1; i < words.size(); ++i) {
      auto [key, value] = assignment(words[i]);
      if (key != "name" && key != "seed" && key != "steps" && key != "description")
        fail("the graph has no setting " + quote(key) +
             did_you_mean(key, {"name", "seed", "steps", "description"}));
      doc[key] = value;
    }
    return {"changed the graph's settings"};
  }
  fail("unknown verb " + quote(verb) +
       did_you_mean(verb, {"add-module", "add-node", "connect", "disconnect", "set", "unset", "rename",
                           "remove", "add-phase", "set-phase", "remove-phase", "set-output", "set-graph"}) +
       " (see ganglion edit --help)");
}

std::string edit_verbs_help() {
  return "verbs:\n"
         "  create [NAME]                         a new graph file (no modules, nodes or phases yet)\n"
         "  add-module NAME TYPE [P=V...]         a module; params start at the contract's defaults\n"
         "  add-node NAME TYPE [P=V...] [in.PORT=REF...]\n"
         "                                        a function or source node\n"
         "  add-node NAME MODULE [in.PORT=REF...] a node applying a module\n"
         "  connect NODE[.PORT] NODE.INPUT        connect an output to an input\n"
         "  disconnect NODE.INPUT\n"
         "  set NAME P=V... | unset NAME P...     params of a node or module (also in.PORT, draw, ema.beta,\n"
         "                                        and apply=MODULE to re-point a module node)\n"
         "  rename OLD NEW                        a node or module; every reference follows\n"
         "  remove NAME [--force]                 refuses while something uses it; --force cuts those too\n"
         "  add-phase NAME MINIMIZE M[,M...] [S=V...]\n"
         "                                        settings: every, repeat, from, lazy, optimizer (a type,\n"
         "                                        or the name of one of the graph's optimizers), lr,\n"
         "                                        betas, momentum, alpha, eps, weight_decay\n"
         "  set-phase NAME S=V... | remove-phase NAME\n"
         "  set-output samples|checkpoint|log S=V...\n"
         "                                        samples: from, every, writer, and the writer's params\n"
         "  set-graph name|seed|steps|description=V\n"
         "VALUE is JSON when it parses as JSON, else a string. Every edit is validated; an edit that\n"
         "would make the graph invalid is refused and the file is left as it was.\n";
}

namespace {

const std::vector<std::string>& verbs() {
  static const std::vector<std::string> v{"add-module",   "add-node",   "connect",  "disconnect", "set",
                                          "unset",        "rename",     "remove",   "add-phase",  "set-phase",
                                          "remove-phase", "set-output", "set-graph"};
  return v;
}

/// The contract a node or module entry of the document follows, if its type is known.
const Contract* contract_of(const Json& doc, const PluginRegistry& registry, const std::string& name) {
  const Json* entry = nullptr;
  if (is_node(doc, name))
    entry = &doc["nodes"][name];
  else if (is_module(doc, name))
    entry = &doc["modules"][name];
  if (!entry || !entry->is_object()) return nullptr;
  std::string type = entry->value("type", "");
  if (type.empty() && entry->contains("apply")) {
    const std::string module = entry->value("apply", "");
    if (is_module(doc, module)) type = doc["modules"][module].value("type", "");
  }
  const RegisteredType* t = registry.find(type);
  return t ? &t->contract : nullptr;
}

/// "node.port" for every output (or input) port of every node.
std::vector<std::string> port_refs(const Json& doc, const PluginRegistry& registry, bool inputs) {
  std::vector<std::string> out;
  for (const auto& node : keys_of(doc.value("nodes", Json::object()))) {
    if (!inputs) out.push_back(node);
    if (const Contract* c = contract_of(doc, registry, node))
      for (const auto& p : inputs ? c->inputs() : c->outputs()) out.push_back(node + "." + p.name);
  }
  return out;
}

}  // namespace

std::vector<std::string> edit_completions(const GraphDocument& document, const PluginRegistry& registry,
                                          const std::vector<std::string>& words, const std::string& partial) {
  const Json& doc = document;
  std::vector<std::string> candidates;
  const auto nodes = keys_of(doc.value("nodes", Json::object()));
  const auto modules = keys_of(doc.value("modules", Json::object()));
  auto types_of = [&](bool module_types) {
    std::vector<std::string> out;
    for (const auto& [name, t] : registry.types()) {
      const NodeKind k = t.contract.kind();
      if (module_types ? k == NodeKind::Module : (k == NodeKind::Function || k == NodeKind::Source))
        out.push_back(name);
    }
    return out;
  };
  auto params_of = [&](const std::string& name, bool with_inputs) {
    std::vector<std::string> out;
    if (const Contract* c = contract_of(doc, registry, name)) {
      for (const auto& p : c->params()) out.push_back(p.name + "=");
      if (with_inputs)
        for (const auto& p : c->inputs()) out.push_back("in." + p.name + "=");
    }
    return out;
  };
  auto phases = [&] {
    std::vector<std::string> out;
    for (const auto& p : doc.value("phases", Json::array())) out.push_back(p.value("name", ""));
    return out;
  };
  const size_t at = words.size();
  const std::string verb = at > 0 ? words[0] : "";
  if (at == 0) {
    candidates = verbs();
    for (const char* extra : {"show", "validate", "help", "quit"}) candidates.push_back(extra);
  } else if (verb == "add-module" && at == 2) {
    candidates = types_of(true);
  } else if (verb == "add-node" && at == 2) {
    candidates = types_of(false);
    candidates.insert(candidates.end(), modules.begin(), modules.end());
  } else if ((verb == "add-module" || verb == "add-node") && at >= 3) {
    // Params of the type being added, and the inputs of a node.
    const RegisteredType* t = registry.find(words[2]);
    const Contract* c = t ? &t->contract : nullptr;
    if (!c && is_module(doc, words[2])) {
      const RegisteredType* mt = registry.find(doc["modules"][words[2]].value("type", ""));
      c = mt ? &mt->contract : nullptr;
    }
    if (c) {
      if (!is_module(doc, words[2]))
        for (const auto& p : c->params()) candidates.push_back(p.name + "=");
      if (verb == "add-node")
        for (const auto& p : c->inputs()) candidates.push_back("in." + p.name + "=");
    }
  } else if (verb == "connect") {
    candidates = port_refs(doc, registry, at == 2);
  } else if (verb == "disconnect" && at == 1) {
    candidates = port_refs(doc, registry, true);
  } else if ((verb == "set" || verb == "unset" || verb == "rename" || verb == "remove") && at == 1) {
    candidates = nodes;
    candidates.insert(candidates.end(), modules.begin(), modules.end());
  } else if ((verb == "set" || verb == "unset") && at >= 2) {
    candidates = params_of(words[1], is_node(doc, words[1]));
  } else if ((verb == "set-phase" || verb == "remove-phase") && at == 1) {
    candidates = phases();
  } else if (verb == "add-phase" && at == 2) {
    candidates = port_refs(doc, registry, false);
  } else if (verb == "add-phase" && at == 3) {
    candidates = modules;
  } else if ((verb == "add-phase" && at >= 4) || (verb == "set-phase" && at >= 2)) {
    candidates = {"every=", "repeat=",   "from=",  "lazy=", "optimizer=",   "lr=",
                  "betas=", "momentum=", "alpha=", "eps=",  "weight_decay="};
    if (verb == "set-phase") candidates.insert(candidates.end(), {"minimize=", "update="});
  } else if (verb == "set-output" && at == 1) {
    candidates = {"samples", "checkpoint", "log"};
  } else if (verb == "set-graph") {
    candidates = {"name=", "seed=", "steps=", "description="};
  }
  std::vector<std::string> out;
  for (const auto& c : candidates)
    if (c.rfind(partial, 0) == 0) out.push_back(c);
  return out;
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
