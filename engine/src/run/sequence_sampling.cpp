// Sequence grids (outputs.samples' "sequence"): a grid's rows drawn step after step, each step from
// the data's next batch and fresh noise, the outputs a feed names holding what the step before gave,
// and the steps joined along one dimension. MidiNet writes a melody bar by bar this way, each bar
// conditioned on the one it generated before.
#include <ganglion/plugin.h>
#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph.h"
#include "ganglion/engine/trainer.h"

namespace ganglion {

std::vector<at::Tensor> sample_sequence(Executor& executor, const Graph& graph, const SamplesSpec& grid,
                                        std::int64_t steps, const SequenceHooks& hooks) {
  const auto& sequence = grid.sequence;
  // The rows, then each feed's source.
  std::vector<PortRef> refs = grid.rows;
  for (const auto& feed : sequence.feed) refs.push_back(feed.from);
  std::vector<std::vector<at::Tensor>> parts(grid.rows.size());
  std::vector<at::Tensor> before;
  for (std::int64_t k = 0; k < steps; ++k) {
    std::vector<std::pair<PortRef, torch::Tensor>> overrides;
    if (k > 0)
      for (size_t f = 0; f < sequence.feed.size(); ++f)
        overrides.emplace_back(sequence.feed[f].replaced, before[grid.rows.size() + f]);
    if (hooks.overrides)
      for (auto& o : hooks.overrides(k)) overrides.push_back(std::move(o));
    // Draw k + 1: the data copy's (k + 1)-th batch from its start, and that draw's noise.
    std::vector<at::Tensor> values = executor.sample_step(refs, static_cast<std::uint64_t>(k + 1), overrides);
    for (size_t r = 0; r < grid.rows.size(); ++r) {
      if (values[r].dim() <= sequence.axis)
        throw NodeFailure("\"" + graph.port_name(grid.rows[r]) + "\" gives " + c10::str(values[r].sizes()) +
                              ", which has no dimension " + std::to_string(sequence.axis) +
                              " to join the sequence's steps along",
                          grid.pointer + "/sequence/axis");
      parts[r].push_back(values[r]);
    }
    if (hooks.on_step)
      hooks.on_step(k, std::vector<at::Tensor>(values.begin(), values.begin() + grid.rows.size()));
    before = std::move(values);
  }
  std::vector<at::Tensor> joined;
  for (auto& p : parts) joined.push_back(torch::cat(p, sequence.axis));
  return joined;
}

}  // namespace ganglion
