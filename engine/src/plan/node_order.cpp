#include "ganglion/engine/node_order.h"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>

#include <algorithm>
#include <set>

#include "ganglion/engine/user_error.h"

namespace ganglion {

namespace {

using Dag = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
using Vertex = boost::graph_traits<Dag>::vertex_descriptor;

/// Edges from each input's producer to the node reading it.
Dag make_dag(const Graph& graph) {
  Dag dag(graph.nodes.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i)
    for (const auto& [port, ref] : graph.nodes[i].inputs) boost::add_edge(ref.node, i, dag);
  return dag;
}

/// Records the first back edge a depth-first search meets, and the tree parents to recover the
/// cycle it closes.
struct CycleFinder : boost::default_dfs_visitor {
  CycleFinder(std::vector<Vertex>& parent, std::vector<Vertex>& cycle) : parent(parent), cycle(cycle) {}
  void tree_edge(boost::graph_traits<Dag>::edge_descriptor e, const Dag& g) {
    parent[boost::target(e, g)] = boost::source(e, g);
  }
  void back_edge(boost::graph_traits<Dag>::edge_descriptor e, const Dag& g) {
    if (!cycle.empty()) return;
    const Vertex from = boost::source(e, g), to = boost::target(e, g);
    for (Vertex v = from; v != to; v = parent[v]) cycle.push_back(v);
    cycle.push_back(to);
    std::reverse(cycle.begin(), cycle.end());
  }
  std::vector<Vertex>& parent;
  std::vector<Vertex>& cycle;
};

}  // namespace

std::vector<int> topological_order(const Graph& graph) {
  const Dag dag = make_dag(graph);
  const size_t n = graph.nodes.size();
  std::vector<Vertex> parent(n), cycle;
  for (size_t i = 0; i < n; ++i) parent[i] = i;
  std::vector<boost::default_color_type> colors(n);
  boost::depth_first_search(dag, boost::visitor(CycleFinder(parent, cycle))
                                     .color_map(boost::make_iterator_property_map(
                                         colors.begin(), boost::get(boost::vertex_index, dag))));
  if (!cycle.empty()) {
    std::string path;
    for (Vertex v : cycle) path += graph.nodes[v].name + " -> ";
    path += graph.nodes[cycle.front()].name;
    throw UserError(graph.file, "/nodes",
                    "the nodes form a cycle: " + path + " (a node cannot depend on its own output)");
  }
  // Kahn's algorithm picking the lowest index first, so the order is stable and follows the file.
  std::vector<int> indegree(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (const auto& [port, ref] : graph.nodes[i].inputs) ++indegree[i];
  // A node reading two ports of one producer has two edges: count both, release both.
  std::set<int> ready;
  for (size_t i = 0; i < n; ++i)
    if (indegree[i] == 0) ready.insert(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    const int v = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(v);
    for (auto [e, end] = boost::out_edges(v, dag); e != end; ++e) {
      const int t = static_cast<int>(boost::target(*e, dag));
      if (--indegree[t] == 0) ready.insert(t);
    }
  }
  return order;
}

std::vector<int> dependency_closure(const Graph& graph, const std::vector<int>& order,
                                    const std::vector<int>& targets, const EdgeFilter& follow) {
  std::vector<char> needed(graph.nodes.size(), 0);
  std::vector<int> stack(targets.begin(), targets.end());
  while (!stack.empty()) {
    const int v = stack.back();
    stack.pop_back();
    if (needed[v]) continue;
    needed[v] = 1;
    for (const auto& [port, ref] : graph.nodes[v].inputs)
      if (!follow || follow(v, port, ref.node)) stack.push_back(ref.node);
  }
  std::vector<int> out;
  for (int v : order)
    if (needed[v]) out.push_back(v);
  return out;
}

}  // namespace ganglion
