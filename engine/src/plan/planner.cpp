#include "ganglion/engine/planner.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <ostream>
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

/// What a phase computes or reuses for `root`: its inputs, transitively, except that a stale
/// reference to a value computed earlier in the iteration (in `cache`) reads that value instead of
/// reaching further. In topological order.
std::vector<int> phase_closure(const Graph& g, const std::vector<int>& order, int root,
                               const std::map<int, SimValue>& cache) {
  return dependency_closure(g, order, {root}, [&](int node, const std::string& port, int from) {
    return !g.nodes[node].stale_inputs.count(port) || !cache.count(from);
  });
}

}  // namespace

std::vector<char> due_phases(const Graph& g, std::int64_t step) {
  std::vector<char> due(g.phases.size());
  for (size_t p = 0; p < g.phases.size(); ++p) due[p] = g.phases[p].due(step);
  return due;
}

bool every_phase_due(const std::vector<char>& due) {
  return std::all_of(due.begin(), due.end(), [](char d) { return d != 0; });
}

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
  plan.phases = plan_iteration(g, plan, std::vector<char>(g.phases.size(), 1));
  return plan;
}

std::vector<PhasePlan> plan_iteration(const Graph& g, const Plan& plan, const std::vector<char>& due) {
  const size_t n = g.nodes.size();
  std::vector<PhasePlan> phases;
  // Per-phase sources upstream of each node: such a value never outlives its phase run.
  std::vector<char> per_phase(n, 0);
  for (int v : plan.order) {
    per_phase[v] = g.nodes[v].kind() == NodeKind::Source && g.nodes[v].draw == DrawPolicy::PerPhase;
    for (const auto& [port, ref] : g.nodes[v].inputs) per_phase[v] |= per_phase[ref.node];
  }
  // Where each phase's plan sits in `phases` (-1: not due).
  std::vector<int> slot(g.phases.size(), -1);

  // Simulate one iteration in which each due phase runs once, in file order.
  std::map<int, int> version;
  std::map<int, SimValue> cache;
  for (size_t p = 0; p < g.phases.size(); ++p) {
    if (!due[p]) continue;
    const PhaseSpec& spec = g.phases[p];
    PhasePlan pp;
    pp.phase = static_cast<int>(p);
    for (const auto& u : spec.update) pp.updated.push_back(u.module);
    const std::vector<int> closure = phase_closure(g, plan.order, spec.minimize.node, cache);
    for (int v : closure) {
      const NodeEntry& node = g.nodes[v];
      PlannedNode step;
      step.node = v;
      for (const auto& port : node.stale_inputs) {
        const int from = node.inputs.at(port).node;
        if (cache.count(from) && !contains(closure, from))
          step.stale_reads.push_back({port, from, cache.at(from).phase});
      }
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
    slot[p] = static_cast<int>(phases.size());
    phases.push_back(std::move(pp));
  }

  // Second pass: a value reused by a later phase must have been computed with gradients for the
  // modules that later phase updates, and kept (with its graph) until then.
  for (auto& pp : phases) pp.tracked = pp.updated;
  for (const auto& later : phases)
    for (const auto& step : later.nodes) {
      // A stale read needs the value kept, not its graph: it is read detached.
      for (const auto& read : step.stale_reads)
        for (auto& s : phases[slot[read.phase]].nodes)
          if (s.node == read.node) s.kept = true;
      if (!step.reuse) continue;
      PhasePlan& origin = phases[slot[step.reused_from]];
      for (auto& s : origin.nodes)
        if (s.node == step.node) s.kept = true;
      for (int m : later.updated)
        if (contains(plan.module_deps[step.node], m) && !contains(origin.tracked, m)) {
          origin.tracked.push_back(m);
          origin.retain_graph = true;
        }
    }
  return phases;
}

/// The iterations at which not every phase runs, by which phases do, and how their plans differ
/// from the full iteration's.
void describe_partial_iterations(std::ostream& out, const Graph& g, const Plan& plan) {
  // One period of the phases' rhythm, after the last "from": every combination of due phases
  // occurs in it. Capped, so that coprime "every"s cannot make it huge.
  std::int64_t period = 1, start = 1;
  for (const auto& p : g.phases) {
    period = std::min<std::int64_t>(std::lcm(period, p.every), 100000);
    start = std::max(start, p.from);
  }
  std::map<std::vector<char>, std::vector<std::int64_t>> seen;
  for (std::int64_t step = 1; step < start + period; ++step) {
    auto due = due_phases(g, step);
    if (every_phase_due(due)) continue;
    seen[due].push_back(step);
  }
  for (const auto& [due, steps] : seen) {
    std::string running;
    for (size_t p = 0; p < due.size(); ++p)
      if (due[p]) running += (running.empty() ? "" : ", ") + g.phases[p].name;
    out << "\niterations where only " << (running.empty() ? "no phase" : running) << " run"
        << (running.find(',') == std::string::npos && !running.empty() ? "s" : "") << " (";
    for (size_t i = 0; i < steps.size() && i < 3; ++i) out << (i ? ", " : "") << steps[i];
    out << (steps.size() > 3 ? ", ..." : "") << "):\n";
    const auto phases = plan_iteration(g, plan, due);
    bool differs = false;
    for (const auto& pp : phases) {
      const PhasePlan* full = nullptr;
      for (const auto& f : plan.phases)
        if (f.phase == pp.phase) full = &f;
      for (const auto& s : pp.nodes) {
        const PlannedNode* before = nullptr;
        for (const auto& f : full->nodes)
          if (f.node == s.node) before = &f;
        if (before && before->reuse == s.reuse && before->kept == s.kept) continue;
        differs = true;
        out << "  phase " << g.phases[pp.phase].name << ": " << (s.reuse ? "reuse   " : "compute ")
            << g.nodes[s.node].name << ": " << s.reason << (s.kept ? "; kept for a later phase" : "") << "\n";
      }
    }
    if (!differs) out << "  the phases that run decide as in the full iteration above\n";
  }
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
  for (const auto& m : g.modules) {
    if (m.grow < 0) continue;
    const ScheduleSpec& s = g.schedules[m.grow];
    // Where the schedule's whole value first rises: the stage boundaries.
    std::string at;
    for (const auto& [x, y] : s.points)
      if (y >= 1) at += (at.empty() ? "" : ", ") + nlohmann::json(x).dump();
    out << "module " << m.name << " grows with schedule " << s.name << " ("
        << (s.stepwise ? "stepwise" : "linear") << ", by " << (s.by_images ? "images" : "iterations")
        << (at.empty() ? "" : "; points at " + at)
        << "): new layers join their optimizers with fresh state; the stage is checkpointed\n";
  }
  for (const auto& pp : plan.phases) {
    const PhaseSpec& spec = g.phases[pp.phase];
    out << "\nphase " << spec.name << ": minimises " << g.port_name(spec.minimize) << "\n";
    out << "  runs: every "
        << (spec.every == 1 ? std::string("iteration") : std::to_string(spec.every) + " iterations");
    if (spec.from > 1) out << ", from iteration " << spec.from;
    if (spec.repeat > 1) out << ", " << spec.repeat << " times in a row";
    out << "\n  updates: " << names(pp.updated);
    const OptimizerEntry* entry = spec.optimizer >= 0 ? &g.optimizers[spec.optimizer] : nullptr;
    std::string opt;
    for (const auto& u : spec.update) {
      const auto& o = u.optimizer;
      opt += (opt.empty() ? "" : "; ") + g.modules[u.module].name + " " + o.type + " lr " +
             nlohmann::json(o.lr).dump();
      if (o.type == "adam")
        opt += " betas (" + nlohmann::json(o.beta1).dump() + ", " + nlohmann::json(o.beta2).dump() + ")";
      // The schedule, so that a decay is as visible as the rate it decays.
      if (o.schedule == "linear")
        opt += ", lr constant to iteration " + std::to_string(o.start) + " then linearly to x" +
               nlohmann::json(o.to).dump() + " at " +
               (o.end > 0 ? "iteration " + std::to_string(o.end) : std::string("the run's last iteration"));
      else if (o.schedule == "step")
        opt +=
            ", lr x" + nlohmann::json(o.gamma).dump() + " every " + std::to_string(o.every) + " iterations";
    }
    out << " (" << (entry && entry->named ? "optimizer " + entry->name + ": " : std::string()) << opt
        << ")\n";
    if (entry && entry->phases.size() > 1) {
      std::string others;
      for (int q : entry->phases)
        if (q != pp.phase) others += (others.empty() ? "" : ", ") + g.phases[q].name;
      out << "  shares optimizer " << entry->name << " (its moments and step counts) with phase"
          << (entry->phases.size() > 2 ? "s " : " ") << others << "\n";
    }
    if (entry && entry->lazy_interval > 0)
      out << "  lazy: optimizer " << entry->name << "'s lr is multiplied by " << entry->lazy_interval << "/"
          << entry->lazy_interval + 1 << " and its betas raised to that power, for a phase every "
          << entry->lazy_interval << " iterations\n";
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
      for (const auto& read : s.stale_reads) {
        std::vector<int> since;
        for (int m : plan.module_deps[read.node])
          for (const auto& earlier : plan.phases)
            if (earlier.phase >= read.phase && earlier.phase < pp.phase && contains(earlier.updated, m) &&
                !contains(since, m))
              since.push_back(m);
        out << "      stale: input " << read.port << " reads " << g.nodes[read.node].name << " from phase "
            << g.phases[read.phase].name << " as it was"
            << (since.empty() ? std::string() : ", before " + names(since) + " updated")
            << " (detached: no gradient flows back)\n";
      }
      for (const auto& [port, ref] : node.previous_inputs)
        out << "      previous: input " << port << " reads " << g.port_name(ref)
            << " as the previous iteration left it (detached; absent in the first iteration)\n";
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
    for (int m : pp.updated) {
      const EmaSpec& ema = g.modules[m].ema;
      if (!ema.enabled) continue;
      out << "  after the step: EMA of " << g.modules[m].name << " (";
      if (ema.half_life_images > 0)
        out << "half-life " << nlohmann::json(ema.half_life_images).dump() << " images"
            << (ema.rampup_ratio > 0 ? ", ramp-up ratio " + nlohmann::json(ema.rampup_ratio).dump()
                                     : std::string());
      else
        out << "beta " << nlohmann::json(ema.beta).dump()
            << (ema.rampup > 0 ? ", ramp-up " + std::to_string(ema.rampup) + " steps" : std::string());
      out << "), which samples and metrics use\n";
    }
  }
  describe_partial_iterations(out, g, plan);
  return out.str();
}

}  // namespace ganglion
