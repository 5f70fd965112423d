// Times the hand-written DCGAN step and the graph-driven one alternately, in one process, on the
// same machine and thread count, and prints ms/step for each and their ratio.
//   dcgan_bench [--steps N] [--rounds R] [--threads T] [--warmup W]
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "data/idx_file.h"
#include "dcgan_reference.h"
#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/trainer.h"
#include "ganglion/engine/user_error.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class F>
double ms_per_step(int steps, F&& step) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 20, rounds = 5, threads = ganglion::available_cores(), warmup = 5;
  std::string profile;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> int {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dcgan_bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::atoi(argv[++i]);
    };
    if (a == "--steps")
      steps = next();
    else if (a == "--rounds")
      rounds = next();
    else if (a == "--threads")
      threads = next();
    else if (a == "--warmup")
      warmup = next();
    else if (a == "--profile" && i + 1 < argc)
      profile = argv[++i];
    else {
      std::fprintf(stderr, "usage: dcgan_bench [--steps N] [--rounds R] [--threads T] [--warmup W]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (steps < 1 || rounds < 1 || threads < 1) {
    std::fprintf(stderr, "dcgan_bench: --steps, --rounds and --threads must be at least 1\n");
    return 2;
  }
  try {
    torch::set_num_threads(threads);
    torch::manual_seed(1);
    const std::string images = ganglion::data_folder() + "/mnist/train-images-idx3-ubyte";
    bench::ReferenceDcgan reference(ganglion::data::read_idx_u8(images));

    ganglion::PluginRegistry registry;
    registry.load(ganglion::PluginRegistry::search_path({}));
    const ganglion::Graph graph =
        ganglion::load_graph(std::string(GANGLION_SOURCE_DIR) + "/graphs/dcgan-mnist.json", {}, registry);
    const ganglion::Plan plan = ganglion::make_plan(graph);
    ganglion::Executor executor(graph, plan, torch::kCPU);
    std::int64_t iteration = 0;

    for (int i = 0; i < warmup; ++i) reference.step(), executor.run_iteration(++iteration);
    if (!profile.empty()) {
      // A Chrome trace of `steps` graph-driven steps, then of as many hand-written ones.
      {
        torch::autograd::profiler::RecordProfile trace(profile + ".graph.json");
        for (int i = 0; i < steps; ++i) executor.run_iteration(++iteration);
      }
      torch::autograd::profiler::RecordProfile trace(profile + ".hand-written.json");
      for (int i = 0; i < steps; ++i) reference.step();
      return 0;
    }
    std::vector<double> ref_ms, graph_ms;
    std::printf(
        "DCGAN step (batch 64, 28x28, D and G phases), %d thread(s), %d rounds of %d steps, alternating\n",
        threads, rounds, steps);
    for (int r = 0; r < rounds; ++r) {
      ref_ms.push_back(ms_per_step(steps, [&] { reference.step(); }));
      graph_ms.push_back(ms_per_step(steps, [&] { executor.run_iteration(++iteration); }));
      std::printf("  round %d: hand-written %.1f ms/step, graph %.1f ms/step, ratio %.3f\n", r + 1,
                  ref_ms.back(), graph_ms.back(), graph_ms.back() / ref_ms.back());
    }
    const double a = median(ref_ms), b = median(graph_ms);
    std::printf(
        "median: hand-written %.1f ms/step, graph-driven %.1f ms/step, ratio graph/hand-written %.3f\n", a, b,
        b / a);
    return 0;
  } catch (const ganglion::UserError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
}
