#include "ganglion/engine/evaluation.h"

#include <algorithm>
#include <cstdio>

#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph.h"
#include "ganglion/engine/user_error.h"

namespace ganglion {

std::vector<int> metric_nodes(const Graph& graph, const std::vector<std::string>& names) {
  std::vector<int> out;
  if (names.empty()) {
    for (size_t n = 0; n < graph.nodes.size(); ++n)
      if (graph.nodes[n].is_metric()) out.push_back(static_cast<int>(n));
    if (out.empty())
      throw UserError(
          graph.file +
          ": the graph has no metrics: add a node of a metrics/ type (ganglion plugins lists them), "
          "e.g. {\"type\": \"metrics/mixture-modes\", \"in\": {\"samples\": \"fake\"}}");
    return out;
  }
  std::vector<std::string> all;
  for (const auto& n : graph.nodes) all.push_back(n.name);
  for (const auto& name : names) {
    const int n = graph.find_node(name);
    if (n < 0)
      throw UserError(graph.file + ": --metrics names no node \"" + name + "\"" + did_you_mean(name, all));
    if (graph.nodes[n].kind() != NodeKind::Function)
      throw UserError(graph.file + ": --metrics " + name + ": node \"" + name + "\" is a " +
                      graph.nodes[n].contract().type() + ", not a function node that can score a draw");
    out.push_back(n);
  }
  return out;
}

nlohmann::json evaluate_metrics(Executor& executor, const Graph& graph, const std::vector<int>& nodes,
                                std::int64_t samples) {
  // One joint draw for every metric's inputs: row i of a generated image and of the class it was
  // asked for come from the same batch, and what several metrics score is computed once.
  std::vector<PortRef> refs;
  for (int n : nodes)
    for (const auto& [port, ref] : graph.nodes[n].inputs)
      if (std::find(refs.begin(), refs.end(), ref) == refs.end()) refs.push_back(ref);
  const std::vector<torch::Tensor> drawn = executor.draw(refs, samples);
  nlohmann::json result = nlohmann::json::object();
  for (int n : nodes) {
    const NodeEntry& node = graph.nodes[n];
    TensorMap inputs;
    for (const auto& [port, ref] : node.inputs)
      inputs[port] = drawn[std::find(refs.begin(), refs.end(), ref) - refs.begin()];
    const TensorMap out = executor.apply_function(n, inputs);
    auto& figures = result[node.name] = nlohmann::json::object();
    for (const auto& spec : node.contract().outputs()) {
      const torch::Tensor& value = out.at(spec.name);
      if (value.numel() != 1)
        throw NodeFailure("node \"" + node.name + "\" output \"" + spec.name + "\" holds " +
                              std::to_string(value.numel()) + " values; a metric gives one number per output",
                          node.pointer);
      figures[spec.name] = value.item<double>();
    }
  }
  return result;
}

std::string describe_figures(const nlohmann::json& figures) {
  std::string out;
  char value[32];
  for (const auto& [node, outputs] : figures.items())
    for (const auto& [name, v] : outputs.items()) {
      std::snprintf(value, sizeof value, "%.4g", v.get<double>());
      out += (out.empty() ? "" : ", ") + node + "." + name + " " + value;
    }
  return out;
}

}  // namespace ganglion
