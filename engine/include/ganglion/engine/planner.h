// The plan: for each phase, decided once from the graph, what runs, what is reused from an earlier
// phase of the same iteration, which modules take gradients, and what must keep a graph for a
// second derivative. The executor follows it; `ganglion plan` prints it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ganglion/engine/graph.h"

namespace ganglion {

struct PlannedNode {
  int node = -1;
  /// Taken from an earlier phase of the iteration instead of computed again.
  bool reuse = false;
  /// Phase whose value is reused (when reuse), else -1.
  int reused_from = -1;
  /// In words: why it is computed, drawn or reused.
  std::string reason;
  /// Kept after this phase because a later phase reuses it.
  bool kept = false;
  /// Inputs given as stale references that read a value an earlier phase computed (detached),
  /// instead of computing it again in this phase.
  struct StaleRead {
    std::string port;
    int node = -1;   ///< whose value
    int phase = -1;  ///< the phase that computed it
  };
  std::vector<StaleRead> stale_reads;
};

struct PhasePlan {
  int phase = -1;
  std::vector<PlannedNode> nodes;  ///< in execution order
  std::vector<int> updated;        ///< modules whose optimiser steps
  std::vector<int> frozen;         ///< modules applied in this phase that it does not update
  /// Modules whose parameters record gradients while this phase computes: the updated ones, plus
  /// frozen ones whose outputs a later phase reuses and differentiates.
  std::vector<int> tracked;
  std::vector<int> second_order;  ///< nodes that differentiate their inputs (double backward)
  std::vector<int> draws;         ///< sources that draw new samples in this phase
  /// Keep the autograd graph after backward: a later phase backpropagates through values of this
  /// phase.
  bool retain_graph = false;
};

struct Plan {
  std::vector<int> order;  ///< all nodes, topologically
  /// An iteration in which every phase is due, in file order.
  std::vector<PhasePlan> phases;
  /// For each node, the modules it depends on (applied by it or upstream of it).
  std::vector<std::vector<int>> module_deps;
};

/// Plans every phase of a validated graph.
Plan make_plan(const Graph& graph);

/// The phases of an iteration in which only the phases flagged in `due` run (by phase index):
/// what to compute and reuse differs when a phase that runs every N iterations is skipped.
std::vector<PhasePlan> plan_iteration(const Graph& graph, const Plan& plan, const std::vector<char>& due);

/// Which phases are due at iteration `step`, by phase index.
std::vector<char> due_phases(const Graph& graph, std::int64_t step);

/// Whether `due` (from due_phases) flags every phase: the iteration Plan::phases plans.
bool every_phase_due(const std::vector<char>& due);

/// The plan in words a graph author understands.
std::string describe_plan(const Graph& graph, const Plan& plan);

}  // namespace ganglion
