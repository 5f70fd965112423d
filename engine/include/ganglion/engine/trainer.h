// A training run from start (or checkpoint) to its last step: the run directory, the log, samples,
// checkpoints, and a clean stop on SIGINT/SIGTERM.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace at {
class Tensor;  // kept out of this header: the CLI's other files need no torch
}

namespace ganglion {

struct Graph;
struct SamplesSpec;
struct PortRef;
class Executor;
class Writer;

struct RunOptions {
  std::string out;                    ///< run directory; "" = runs/<graph name>
  std::optional<std::int64_t> steps;  ///< overrides the graph's "steps"
  bool resume = false;
  std::string device = "auto";      ///< cpu, cuda, cuda:N, auto
  int threads = 0;                  ///< 0 = every core this process may use
  std::string log_format = "text";  ///< text or jsonl
  /// Wall-clock seconds of training after which the run stops as on SIGINT (a checkpoint, exit 0,
  /// --resume continues): the same budget for runs of different graphs, or a farm's time slot.
  /// Decided by each process on its own clock.
  std::optional<double> time_limit_s;
  /// This process's place in a run over several processes: only rank 0 writes the run directory
  /// (graph.json, log, samples, checkpoints, evaluations) and reports progress.
  int rank = 0;
  int world_size = 1;
};

/// Resolves "cpu", "cuda", "cuda:N" or "auto"; throws UserError for anything else or a CUDA
/// device this build or machine does not have.
std::string resolve_device(const std::string& name);

/// The cores this process may run on.
int available_cores();

/// The writer of a samples grid (io/png-grid unless it names another), made from its params; for
/// a grid of several rows of `row_length` images each, the writer's row-length param is set to it
/// unless the graph sets it (0: leave it). Throws UserError naming the grid when the writer
/// rejects its params.
std::shared_ptr<Writer> make_samples_writer(const Graph& graph, const SamplesSpec& grid,
                                            std::int64_t row_length = 0);

/// The writer's file name extension with its leading dot (added when the writer left it out).
std::string samples_extension(const Writer& writer);

/// What a grid writes: its one output, or a row from each of its outputs, drawn together with the
/// same noise and stacked. `count` rows per output instead of one batch (ganglion sample --count).
/// Throws NodeFailure when the rows' shapes do not stack.
at::Tensor sample_grid(Executor& executor, const Graph& graph, const SamplesSpec& grid,
                       std::optional<std::int64_t> count = std::nullopt);

/// A grid's rows (one tensor per output of grid.rows) as the one value its writer takes: stacked row
/// after row, a one-channel image row shown in gray beside colour rows. Throws NodeFailure when
/// their shapes do not stack.
__attribute__((visibility("default"))) at::Tensor stack_grid_rows(const Graph& graph, const SamplesSpec& grid,
                                                                  std::vector<at::Tensor> rows);

/// What a caller adds to a sequence grid's steps: values put in place of outputs at step k (a seed
/// bar a person played, a chord asked for), and a call with each step's rows as they are made
/// (to stream them to a MIDI port).
struct SequenceHooks {
  std::function<std::vector<std::pair<PortRef, at::Tensor>>(std::int64_t step)> overrides;
  std::function<void(std::int64_t step, const std::vector<at::Tensor>& rows)> on_step;
};

/// A sequence grid's rows (grid.sequence) drawn for `steps` steps and joined, one tensor per row
/// output. Throws NodeFailure when a fed value does not fit or an output has no dimension to join.
__attribute__((visibility("default"))) std::vector<at::Tensor> sample_sequence(
    Executor& executor, const Graph& graph, const SamplesSpec& grid, std::int64_t steps,
    const SequenceHooks& hooks = {});

/// Writes grid `grid`'s `value` to `path` with a writer made for it, atomically; throws NodeFailure
/// naming the writer when it fails.
void write_samples(const Graph& graph, const SamplesSpec& grid, const at::Tensor& value,
                   const std::string& path);

/// Trains `graph` as `options` say. Returns the process exit code (0, also after a clean stop on
/// a signal); throws UserError for anything the user can fix.
int train(const Graph& graph, const RunOptions& options);

}  // namespace ganglion
