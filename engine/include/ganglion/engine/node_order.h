// The graph's nodes as a DAG (Boost.Graph): execution order, and cycles named for the user.
#pragma once

#include <vector>

#include "ganglion/engine/graph.h"

namespace ganglion {

/// Node indices in an order where every node comes after the nodes it reads; ties keep file order.
/// Throws UserError naming the nodes of a cycle ("a -> b -> a").
std::vector<int> topological_order(const Graph& graph);

/// The nodes `targets` depend on, themselves included, in topological order.
std::vector<int> dependency_closure(const Graph& graph, const std::vector<int>& order,
                                    const std::vector<int>& targets);

}  // namespace ganglion
