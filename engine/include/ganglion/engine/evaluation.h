// Metrics: Function nodes of the metrics/ family (or any named function node) run on a large draw
// of their inputs, computed as for samples. Used by `ganglion eval` and by a run's outputs.eval.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ganglion {

struct Graph;
class Executor;

/// The nodes named in `names`, or, when it is empty, every node whose type is in the metrics/
/// family. Throws UserError for an unknown name, a node that is not a function, or a graph
/// without metrics.
std::vector<int> metric_nodes(const Graph& graph, const std::vector<std::string>& names);

/// Draws `samples` rows of each metric node's inputs and runs it: {"node": {"output": value}}.
/// Every output must hold one number.
nlohmann::json evaluate_metrics(Executor& executor, const Graph& graph, const std::vector<int>& nodes,
                                std::int64_t samples);

/// "node.output value, ..." on one line, for the terminal.
std::string describe_figures(const nlohmann::json& figures);

}  // namespace ganglion
