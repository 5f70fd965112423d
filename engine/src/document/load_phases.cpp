// Phases, the optimizers they step (inline or named, lazy), learning-rate and graph schedules,
// and the warnings about what phases train.
#include "document/loader.h"

namespace ganglion::loading {

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
  if (lone_entry_) return true;  // no graph around it: the node runner's test sets the schedule
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
  // A previous-iteration input whose producer no phase computes never receives a value.
  std::vector<char> computed(g.nodes.size(), 0);
  std::vector<int> stack;
  for (const auto& p : g.phases)
    if (p.minimize.node >= 0) stack.push_back(p.minimize.node);
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    if (computed[v]) continue;
    computed[v] = 1;
    for (const auto& [port, ref] : g.nodes[v].inputs) stack.push_back(ref.node);
  }
  for (const auto& n : g.nodes)
    for (const auto& [port, ref] : n.previous_inputs)
      if (!computed[ref.node])
        g.warnings.push_back({file_, n.pointer + "/in" + json_pointer({port}),
                              "warning: input " + quote(port) + " reads " + quote(g.port_name(ref)) +
                                  " from the previous iteration, but no phase computes " +
                                  quote(g.nodes[ref.node].name) + ", so the input never has a value"});
}

}  // namespace ganglion::loading
