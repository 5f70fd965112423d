// The graph's nodes as a DAG (Boost.Graph): execution order, and cycles named for the user.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ganglion/engine/graph.h"

namespace ganglion {

/// Node indices in an order where every node comes after the nodes it reads; ties keep file order.
/// Throws UserError naming the nodes of a cycle ("a -> b -> a").
std::vector<int> topological_order(const Graph& graph);

/// Whether the closure follows node `node`'s input `port` (read from `from`).
using EdgeFilter = std::function<bool(int node, const std::string& port, int from)>;

/// The nodes `targets` depend on, themselves included, in topological order; with `follow`, only
/// through the inputs it accepts (the planner stops at a stale reference it can serve).
std::vector<int> dependency_closure(const Graph& graph, const std::vector<int>& order,
                                    const std::vector<int>& targets, const EdgeFilter& follow = {});

}  // namespace ganglion
