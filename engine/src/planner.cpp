#include "ganglion/engine/planner.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "ganglion/engine/node_order.h"
#include "ganglion/engine/plugin_registry.h"

namespace ganglion {

namespace {

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

/// A value as the simulation of one iteration sees it.
struct SimValue {
  int phase = -1;               ///< computed in
  std::map<int, int> versions;  ///< module -> version when computed
};

}  // namespace

Plan make_plan(const Graph& g) {
  Plan plan;
  plan.order = topological_order(g);
  const size_t n = g.nodes.size();
  plan.module_deps.resize(n);
  // Dependencies flow along the topological order.
  for (int v : plan.order) {
    std::set<int> deps;
    if (g.nodes[v].module >= 0) deps.insert(g.nodes[v].module);
    for (const auto& [port, ref] : g.nodes[v].inputs)
      deps.insert(plan.module_deps[ref.node].begin(), plan.module_deps[ref.node].end());
    plan.module_deps[v].assign(deps.begin(), deps.end());
  }
  // Per-phase sources upstream of each node: such a value never outlives its phase run.
  std::vector<char> per_phase(n, 0);
  for (int v : plan.order) {
    per_phase[v] = g.nodes[v].kind() == NodeKind::Source && g.nodes[v].draw == DrawPolicy::PerPhase;
    for (const auto& [port, ref] : g.nodes[v].inputs) per_phase[v] |= per_phase[ref.node];
  }

  // Simulate one iteration in which every phase runs once, in file order.
  std::map<int, int> version;
  std::map<int, SimValue> cache;
  for (size_t p = 0; p < g.phases.size(); ++p) {
    const PhaseSpec& spec = g.phases[p];
    PhasePlan pp;
    pp.phase = static_cast<int>(p);
    for (const auto& u : spec.update) pp.updated.push_back(u.module);
    for (int v : dependency_closure(g, plan.order, {spec.minimize.node})) {
      const NodeEntry& node = g.nodes[v];
      PlannedNode step;
      step.node = v;
      auto it = cache.find(v);
      std::vector<int> stale;
      if (it != cache.end())
        for (const auto& [m, ver] : it->second.versions)
          if (version[m] != ver) stale.push_back(m);
      if (node.module >= 0 && !contains(pp.frozen, node.module) && !spec.updates(node.module))
        pp.frozen.push_back(node.module);
      if (node.contract().is_second_order()) pp.second_order.push_back(v);
      if (it != cache.end() && stale.empty() && !per_phase[v]) {
        step.reuse = true;
        step.reused_from = it->second.phase;
        const std::string from = "phase " + g.phases[it->second.phase].name;
        if (node.kind() == NodeKind::Source)
          step.reason = "same sample as " + from + " (drawn once per iteration)";
        else if (plan.module_deps[v].empty())
          step.reason = "reused from " + from;
        else {
          std::string mods;
          for (int m : plan.module_deps[v]) mods += (mods.empty() ? "" : ", ") + g.modules[m].name;
          step.reason = "reused from " + from + ": " + mods + " not updated since";
        }
      } else {
        if (node.kind() == NodeKind::Source) {
          pp.draws.push_back(v);
          step.reason = node.draw == DrawPolicy::PerPhase ? "draws a new sample (every phase run)"
                                                          : "draws a new sample (once per iteration)";
        } else if (!stale.empty()) {
          std::string mods;
          for (int m : stale) mods += (mods.empty() ? "" : ", ") + g.modules[m].name;
          step.reason = "recomputed: " + mods + " updated since phase " + g.phases[it->second.phase].name;
        } else if (it != cache.end()) {
          step.reason = "recomputed: depends on a sample drawn anew in each phase";
        } else {
          step.reason = "computed";
        }
        SimValue sv;
        sv.phase = static_cast<int>(p);
        for (int m : plan.module_deps[v]) sv.versions[m] = version[m];
        cache[v] = sv;
      }
      pp.nodes.push_back(step);
    }
    for (int m : pp.updated) ++version[m];
    plan.phases.push_back(std::move(pp));
  }

  // Second pass: a value reused by a later phase must have been computed with gradients for the
  // modules that later phase updates, and kept (with its graph) until then.
  for (auto& pp : plan.phases) pp.tracked = pp.updated;
  for (const auto& later : plan.phases)
    for (const auto& step : later.nodes) {
      if (!step.reuse) continue;
      PhasePlan& origin = plan.phases[step.reused_from];
      for (auto& s : origin.nodes)
        if (s.node == step.node) s.kept = true;
      for (int m : later.updated)
        if (contains(plan.module_deps[step.node], m) && !contains(origin.tracked, m)) {
          origin.tracked.push_back(m);
          origin.retain_graph = true;
        }
    }
  return plan;
}

std::string describe_plan(const Graph& g, const Plan& plan) {
  std::ostringstream out;
  auto names = [&](const std::vector<int>& mods) {
    std::string s;
    for (int m : mods) s += (s.empty() ? "" : ", ") + g.modules[m].name;
    return s.empty() ? std::string("none") : s;
  };
  out << "graph " << g.name << " (" << g.file << "): " << g.nodes.size() << " nodes, " << g.modules.size()
      << " modules, " << g.phases.size() << " phases\n";
  for (const auto& pp : plan.phases) {
    const PhaseSpec& spec = g.phases[pp.phase];
    out << "\nphase " << spec.name << ": minimises " << g.port_name(spec.minimize) << "\n";
    out << "  runs: every "
        << (spec.every == 1 ? std::string("iteration") : std::to_string(spec.every) + " iterations");
    if (spec.from > 1) out << ", from iteration " << spec.from;
    if (spec.repeat > 1) out << ", " << spec.repeat << " times in a row";
    out << "\n  updates: " << names(pp.updated);
    std::string opt;
    for (const auto& u : spec.update) {
      const auto& o = u.optimizer;
      opt += (opt.empty() ? "" : "; ") + g.modules[u.module].name + " " + o.type + " lr " +
             nlohmann::json(o.lr).dump();
      if (o.type == "adam")
        opt += " betas (" + nlohmann::json(o.beta1).dump() + ", " + nlohmann::json(o.beta2).dump() + ")";
    }
    out << " (" << opt << ")\n";
    out << "  frozen: " << names(pp.frozen)
        << (pp.frozen.empty() ? "" : " (no gradient is computed into them; gradients flow through them)")
        << "\n";
    std::vector<int> extra;
    for (int m : pp.tracked)
      if (!contains(pp.updated, m)) extra.push_back(m);
    if (!extra.empty())
      out << "  also records gradients for: " << names(extra) << " (a later phase reuses its outputs)\n";
    out << "  steps:\n";
    for (const auto& s : pp.nodes) {
      const NodeEntry& node = g.nodes[s.node];
      const std::string what =
          node.module >= 0 ? "apply " + g.modules[node.module].name : node.contract().type();
      out << "    " << (s.reuse ? "reuse   " : "compute ") << node.name << " [" << what << "]: " << s.reason;
      if (s.kept) out << "; kept for a later phase";
      out << "\n";
    }
    if (!pp.second_order.empty()) {
      out << "  second derivative: ";
      for (size_t i = 0; i < pp.second_order.size(); ++i)
        out << (i ? ", " : "") << g.nodes[pp.second_order[i]].name;
      out << " keep their input graph (double backward)\n";
    }
    if (spec.repeat > 1) {
      out << "  each repetition draws per-phase sources again and recomputes what depends on "
          << names(pp.updated) << "\n";
    }
    out << "  backward: into " << names(pp.updated)
        << (pp.retain_graph ? ", keeping the graph for a later phase" : "") << "\n";
  }
  return out.str();
}

}  // namespace ganglion
