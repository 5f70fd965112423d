#include "ganglion/engine/trainer.h"

#include <sched.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>

#include <ganglion/plugin.h>
#include "ganglion/engine/atomic_file.h"
#include "ganglion/engine/checkpoint.h"
#include "ganglion/engine/evaluation.h"
#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/progress.h"
#include "ganglion/engine/run_log.h"
#include "ganglion/engine/user_error.h"

namespace fs = std::filesystem;

namespace ganglion {

namespace {

std::atomic<int> stop_signal{0};

extern "C" void on_stop_signal(int sig) {
  stop_signal = sig;
  // A second signal ends the process at once.
  std::signal(sig, SIG_DFL);
}

/// Installs the handlers for the run's lifetime.
struct SignalScope {
  SignalScope() {
    stop_signal = 0;
    previous_int = std::signal(SIGINT, on_stop_signal);
    previous_term = std::signal(SIGTERM, on_stop_signal);
  }
  ~SignalScope() {
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
  }
  void (*previous_int)(int);
  void (*previous_term)(int);
};

}  // namespace

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

std::string resolve_device(const std::string& name) {
  if (name == "cpu") return "cpu";
  if (name == "auto") return torch::cuda::is_available() ? "cuda:0" : "cpu";
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw UserError("--device " + name +
                      ": no CUDA device is available to this LibTorch (" TORCH_VERSION "); use --device cpu");
    int index = 0;
    if (name.size() > 5) {
      try {
        size_t used = 0;
        index = std::stoi(name.substr(5), &used);
        if (used != name.size() - 5) throw std::invalid_argument(name);
      } catch (const std::exception&) {
        throw UserError("--device " + name + ": expected cuda:N with N a number");
      }
    }
    const int count = static_cast<int>(torch::cuda::device_count());
    if (index < 0 || index >= count)
      throw UserError("--device " + name + ": this machine has " + std::to_string(count) + " CUDA device(s)");
    return "cuda:" + std::to_string(index);
  }
  throw UserError("--device " + name + ": expected cpu, cuda, cuda:N or auto");
}

std::shared_ptr<Writer> make_samples_writer(const Graph& graph, const SamplesSpec& grid,
                                            std::int64_t row_length) {
  NodeSetup setup;
  setup.params = grid.writer_params;
  const std::string& length_param = grid.writer->contract.row_length_param_name();
  if (grid.rows.size() > 1 && row_length > 0 && !length_param.empty() && !grid.row_length_given)
    setup.params.set(length_param, row_length);
  setup.name = grid.pointer.substr(1);
  try {
    return make_writer(*grid.writer, setup);
  } catch (const std::exception& e) {
    throw UserError(graph.file, grid.pointer,
                    grid.writer->contract.type() + " rejected its params: " + e.what());
  }
}

std::string samples_extension(const Writer& writer) {
  std::string ext = writer.extension();
  // The contract says ".png"; a writer that returns "png" still gets a file name with its dot.
  if (!ext.empty() && ext.front() != '.') ext.insert(ext.begin(), '.');
  return ext;
}

at::Tensor sample_grid(Executor& executor, const Graph& graph, const SamplesSpec& grid,
                       std::optional<std::int64_t> count) {
  if (grid.sequence.steps > 0 && count)
    throw NodeFailure("grid " + grid.pointer + " is a sequence of " + std::to_string(grid.sequence.steps) +
                          " steps: it draws one batch, not a count of rows",
                      grid.pointer + "/sequence");
  std::vector<torch::Tensor> rows = grid.sequence.steps > 0
                                        ? sample_sequence(executor, graph, grid, grid.sequence.steps)
                                    : count ? executor.draw(grid.rows, *count)
                                            : executor.sample(grid.rows);
  return stack_grid_rows(graph, grid, std::move(rows));
}

at::Tensor stack_grid_rows(const Graph& graph, const SamplesSpec& grid, std::vector<at::Tensor> rows) {
  if (rows.size() == 1) return rows.front();
  // A one-channel image row (an edge map, a mask) is shown in gray beside colour rows.
  std::int64_t channels = 1;
  for (const auto& r : rows)
    if (r.dim() == 4) channels = std::max(channels, r.size(1));
  for (auto& r : rows)
    if (r.dim() == 4 && r.size(1) == 1 && channels > 1) r = r.expand({-1, channels, -1, -1});
  for (size_t i = 1; i < rows.size(); ++i)
    if (rows[i].dim() == 0 || rows[i].sizes().slice(1) != rows[0].sizes().slice(1) ||
        rows[i].size(0) != rows[0].size(0))
      throw NodeFailure("the rows of samples grid " + grid.pointer + " do not stack: \"" +
                            graph.port_name(grid.rows[0]) + "\" gives " + c10::str(rows[0].sizes()) +
                            " but \"" + graph.port_name(grid.rows[i]) + "\" gives " +
                            c10::str(rows[i].sizes()) + " (a grid's rows have one shape)",
                        grid.pointer + "/rows/" + std::to_string(i));
  return torch::cat(rows, 0);
}

void write_samples(const Graph& graph, const SamplesSpec& grid, const at::Tensor& value,
                   const std::string& path) {
  // The loader checked what the writer is given against its contract where the graph declares a
  // shape; an output of any rank ("*") is checked here, before the writer sees it.
  const auto& inputs = grid.writer->contract.inputs();
  const std::string what = "the samples writer " + grid.writer->contract.type();
  if (!inputs.empty() && inputs.front().rank() >= 0 && value.dim() != inputs.front().rank())
    throw NodeFailure(what + " takes \"" + inputs.front().shape + "\" (rank " +
                          std::to_string(inputs.front().rank()) + ") but \"" +
                          graph.port_name(grid.rows.front()) + "\" gave " + std::to_string(value.dim()) +
                          " dimensions " + c10::str(value.sizes()),
                      grid.pointer + (grid.rows.size() > 1 ? "/rows/0" : "/from"));
  // A grid of several rows: each row as long as one output's batch.
  const std::int64_t row_length =
      value.dim() > 0 ? value.size(0) / static_cast<std::int64_t>(grid.rows.size()) : 0;
  const std::shared_ptr<Writer> writer = make_samples_writer(graph, grid, row_length);
  write_atomically(path, [&](const std::string& tmp) {
    try {
      writer->write(value, tmp);
    } catch (const std::exception& e) {
      throw NodeFailure(what + " failed: " + e.what(), grid.pointer);
    }
  });
}

int train(const Graph& graph, const RunOptions& options) {
  const std::string device_name = resolve_device(options.device);
  const int threads = options.threads > 0 ? options.threads : available_cores();
  torch::set_num_threads(threads);
  const std::int64_t last_step = options.steps.value_or(graph.steps);
  const fs::path run_dir = options.out.empty() ? fs::path("runs") / graph.name : fs::path(options.out);

  auto latest = latest_checkpoint(run_dir.string());
  if (latest && !options.resume)
    throw UserError(run_dir.string(), "",
                    "this run directory already holds a run (checkpoint at step " +
                        std::to_string(latest->step) +
                        "): pass --resume to continue it, or --out another directory");
  // One process writes the run directory: rank 0.
  const bool writes = options.rank == 0;
  std::error_code ec;
  if (writes) fs::create_directories(run_dir / "samples", ec);
  if (ec) throw UserError(run_dir.string(), "", "cannot create the run directory: " + ec.message());

  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::Device(device_name), Placement{options.rank, options.world_size});
  executor.set_last_step(last_step);
  std::int64_t step = 0;
  std::string run_state;
  if (options.resume && latest) step = read_checkpoint(latest->path, executor, &run_state);
  // Only once the checkpoint is known to fit: graph.json describes the checkpoints beside it.
  if (writes) write_text_atomically((run_dir / "graph.json").string(), graph.document.dump(2) + "\n");
  // What sources built from their data (a vocabulary), readable beside the checkpoints that keep it.
  if (writes)
    for (const auto& [node, d] : executor.derived())
      write_text_atomically((run_dir / (node + "." + d.file_name)).string(), d.text);
  // Each grid's writer is made before training, so a writer that rejects its params fails now
  // (its extension names the files).
  std::vector<std::string> extensions;
  for (const auto& grid : graph.outputs.samples)
    extensions.push_back(samples_extension(*make_samples_writer(graph, grid)));
  // A fresh run starts the log anew; a resumed one drops lines past its checkpoint.
  std::optional<RunLog> log;
  if (writes) log.emplace((run_dir / "log.jsonl").string(), step);

  Progress progress(writes ? Progress::style_for(options.log_format) : ProgressStyle::Silent, step,
                    last_step);
  progress.note((options.resume && latest ? "resuming " + graph.name + " at step " + std::to_string(step)
                                          : "training " + graph.name) +
                " on " + device_name + " with " + std::to_string(threads) + " thread(s) into " +
                run_dir.string());
  if (step >= last_step) {
    progress.note("nothing to do: the run is already at step " + std::to_string(step));
    return 0;
  }

  SignalScope signals;
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  auto window_start = started;
  std::int64_t window_steps = 0, window_samples = 0;
  std::string last_checkpoint;
  // Every phase's latest loss and the iteration it was computed at: a phase that runs every 16
  // iterations still appears in each log line, marked with its own step. Checkpointed, so a
  // resumed run logs what an uninterrupted one would.
  IterationRecord latest_losses;
  std::map<std::string, std::int64_t> computed_at;
  // The single numbers the log names, as training last computed them (not sampling or evals).
  std::map<std::string, double> logged;
  if (!run_state.empty()) {
    const auto state = nlohmann::json::parse(run_state);
    const nlohmann::json values = state.value("values", nlohmann::json::object());
    for (const auto& [name, value] : values.items())
      if (value.is_number()) logged[name] = value.get<double>();
    const nlohmann::json losses = state.value("losses", nlohmann::json::object());
    for (const auto& [phase, value] : losses.items())
      if (value.is_number())  // a NaN loss was written as null
        latest_losses.loss_values[phase] = torch::tensor(value.get<double>(), torch::kDouble);
    computed_at = state.value("computed_at", computed_at);
  }
  std::map<std::string, torch::Tensor> logged_now;  // read (a device sync) only when logged or checkpointed
  const auto read_logged = [&] {
    for (auto& [name, value] : logged_now) logged[name] = value.item<double>();
    logged_now.clear();
  };
  bool in_iteration = false;
  if (!graph.outputs.log_values.empty())
    executor.set_value_observer([&](const std::string& node, const TensorMap& outputs) {
      if (!in_iteration) return;
      for (const auto& ref : graph.outputs.log_values)
        if (graph.nodes[ref.node].name == node)
          logged_now[graph.port_name(ref)] = outputs.at(ref.port).detach();
    });
  const auto checkpoint = [&](std::int64_t at) {
    if (!writes) return;
    read_logged();
    const nlohmann::json state{
        {"losses", latest_losses.losses()}, {"computed_at", computed_at}, {"values", logged}};
    last_checkpoint =
        write_checkpoint(run_dir.string(), at, executor, graph.outputs.keep_checkpoints, state.dump());
  };
  const std::int64_t first_step = step;
  const std::vector<int> eval_nodes =
      graph.outputs.eval.enabled ? metric_nodes(graph, graph.outputs.eval.metrics) : std::vector<int>{};
  try {
    while (step < last_step) {
      ++step;
      in_iteration = true;
      const IterationRecord record = executor.run_iteration(step);
      in_iteration = false;
      for (const auto& [phase, value] : record.loss_values) {
        latest_losses.loss_values[phase] = value;
        computed_at[phase] = step;
      }
      ++window_steps;
      window_samples += record.samples;
      const bool last = step == last_step;
      if (step % graph.outputs.log_every == 0 || last) {
        const auto losses = latest_losses.losses();  // waits for the device: the window's time is complete
        const auto now = clock::now();
        const double window_s = std::chrono::duration<double>(now - window_start).count();
        nlohmann::json line{{"step", step},
                            {"wall_s", std::chrono::duration<double>(now - started).count()},
                            {"losses", losses},
                            {"computed_at", computed_at},
                            {"images_per_s", window_s > 0 ? window_samples / window_s : 0.0},
                            {"steps_per_s", window_s > 0 ? window_steps / window_s : 0.0},
                            {"threads", threads},
                            {"device", device_name}};
        read_logged();
        if (!graph.outputs.log_values.empty()) line["values"] = logged;
        if (log) log->write(line);
        progress.update(step, losses, window_s > 0 ? window_steps / window_s : 0.0);
        window_start = now;
        window_steps = window_samples = 0;
      }
      for (size_t i = 0; writes && i < graph.outputs.samples.size(); ++i) {
        const SamplesSpec& grid = graph.outputs.samples[i];
        if (step % grid.every != 0 && !last) continue;
        write_samples(graph, grid, sample_grid(executor, graph, grid),
                      (run_dir / "samples" / (grid.file_stem(step) + extensions[i])).string());
      }
      if (step % graph.outputs.checkpoint_every == 0 || last) checkpoint(step);
      // After the checkpoint: a metric that fails costs no training.
      if (writes && graph.outputs.eval.enabled && (step % graph.outputs.eval.every == 0 || last)) {
        const auto figures = evaluate_metrics(executor, graph, eval_nodes, graph.outputs.eval.samples);
        log->write(nlohmann::json{{"step", step}, {"eval", figures}});
        progress.note("eval at step " + std::to_string(step) + ": " + describe_figures(figures));
      }
      const bool out_of_time =
          options.time_limit_s &&
          std::chrono::duration<double>(clock::now() - started).count() >= *options.time_limit_s;
      if ((stop_signal != 0 || out_of_time) && !last) {
        if (step % graph.outputs.checkpoint_every != 0) checkpoint(step);
        progress.finish();
        const std::string why =
            stop_signal != 0 ? std::string("stopped by ") + (stop_signal == SIGINT ? "SIGINT" : "SIGTERM")
                             : "stopped at the time limit of " + c10::str(*options.time_limit_s) + " s";
        progress.note(why + " after step " + std::to_string(step) + "; checkpoint " + last_checkpoint +
                      "; continue with --resume");
        return 0;
      }
    }
  } catch (const NodeFailure& e) {
    progress.finish();
    throw UserError(
        graph.file, e.pointer(),
        std::string(e.what()) + " at step " + std::to_string(step) +
            (last_checkpoint.empty() ? std::string() : "; the last checkpoint is " + last_checkpoint));
  }
  progress.finish();
  const double seconds = std::chrono::duration<double>(clock::now() - started).count();
  progress.note(
      "done: " + std::to_string(step - first_step) + " steps in " +
      std::to_string(static_cast<int>(seconds)) + " s; checkpoint " + last_checkpoint +
      (!graph.outputs.samples.empty() ? "; samples in " + (run_dir / "samples").string() : std::string()));
  return 0;
}

}  // namespace ganglion
