// The DCGAN step three ways, timed alternately in one process on the same machine, device and
// thread count: the hand-written LibTorch loop of pytorch/examples (the yardstick), the same step
// in PyTorch eager through Python (where a python3 with torch is found), and graphs/dcgan-mnist.json
// driven by the engine. Prints ms/step, GFLOP/s (the hand-written step's operation count over each
// one's time) and the ratios to the hand-written loop. See docs/performance.md.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "data/idx_file.h"
#include "dcgan_reference.h"
#include "ganglion/engine/executor.h"
#include "ganglion/engine/fused_adam.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/trainer.h"
#include "ganglion/engine/user_error.h"

namespace {

const char* kUsage =
    "usage: dcgan_bench [options]\n"
    "  --steps N        timed steps per round (20)\n"
    "  --rounds R       alternating rounds; the median is reported (5)\n"
    "  --warmup W       untimed steps before the rounds (5)\n"
    "  --threads LIST   thread counts, comma-separated (1 and all cores)\n"
    "  --device D       cpu or cuda (cpu)\n"
    "  --graph FILE     the graph to drive (graphs/dcgan-mnist.json)\n"
    "  --python EXE     a python3 with torch for the PyTorch-eager step (found on PATH or\n"
    "                   /usr/bin/python3); --no-python skips it\n"
    "  --check          instead of timing: one step of each from the same weights, batch and noise;\n"
    "                   compares losses and gradients, exit 1 if they differ beyond float rounding\n"
    "  --profile PREFIX instead of timing: Chrome traces PREFIX.graph.json, PREFIX.hand-written.json\n"
    "  --optimizer      instead of the step: one Adam update of the DCGAN's G and D parameters,\n"
    "                   torch::optim::Adam (as the hand-written loop) against the engine's FusedAdam\n";

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Blocks until the device has finished the work queued so far (a no-op wait on the CPU).
void wait_for(torch::Device device) { torch::zeros({1}, device).item<float>(); }

template <class F>
double ms_per_step(int steps, torch::Device device, F&& step) {
  wait_for(device);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  wait_for(device);
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / steps;
}

std::string run_command(const std::string& command, int* status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  *status = pclose(pipe);
  return out;
}

// The first of the candidates that imports torch and numpy, or nothing.
std::optional<std::string> find_python(const std::string& requested) {
  std::vector<std::string> candidates;
  if (!requested.empty())
    candidates.push_back(requested);
  else
    candidates = {"python3", "/usr/bin/python3"};
  for (const auto& exe : candidates) {
    int status = -1;
    run_command("'" + exe + "' -c 'import torch, numpy' 2>/dev/null", &status);
    if (status == 0) return exe;
  }
  return std::nullopt;
}

// One round of the Python step; its own clock, so interpreter start-up is not counted.
double python_ms(const std::string& python, const std::string& images, int steps, int warmup, int threads,
                 const std::string& device) {
  int status = -1;
  const std::string out =
      run_command("'" + python + "' '" GANGLION_SOURCE_DIR "/bench/dcgan_reference.py' --images '" + images +
                      "' --steps " + std::to_string(steps) + " --warmup " + std::to_string(warmup) +
                      " --threads " + std::to_string(threads) + " --device " + device,
                  &status);
  const auto at = out.find("\"ms_per_step\": ");
  if (status != 0 || at == std::string::npos) throw std::runtime_error("the Python step failed: " + out);
  return std::atof(out.c_str() + at + 15);
}

struct Graphed {
  ganglion::Graph graph;
  ganglion::Plan plan;
  std::unique_ptr<ganglion::Executor> executor;
  std::int64_t iteration = 0;
};

std::unique_ptr<Graphed> make_graphed(const ganglion::PluginRegistry& registry, const std::string& file,
                                      torch::Device device, const std::vector<std::string>& overrides = {}) {
  auto g = std::make_unique<Graphed>();
  g->graph = ganglion::load_graph(file, overrides, registry);
  g->plan = ganglion::make_plan(g->graph);
  g->executor = std::make_unique<ganglion::Executor>(g->graph, g->plan, device);
  return g;
}

const torch::nn::Module& module_named(const Graphed& g, const std::string& name) {
  const int m = g.graph.find_module(name);
  if (m < 0) throw std::runtime_error("the graph has no module named " + name);
  return *g.executor->modules().at(m);
}

// |a - exact| / |exact| (Euclidean norms, in float64).
double relative_error(const torch::Tensor& a, const torch::Tensor& exact) {
  const auto want = exact.to(torch::kCPU).to(torch::kDouble);
  return (a.to(torch::kCPU).to(torch::kDouble) - want).norm().item<double>() /
         (want.norm().item<double>() + 1e-30);
}

// How far the graph's float32 step is from the float64 step, against how far the hand-written
// float32 step is: a formulation that sums in another order is as far off as rounding takes any
// float32 step (about 1e-3 for a random-sign gradient sum on some CPUs), while a wrong term is off
// by far more. Tensor by tensor; prints each and returns the worst excess: the graph's error over
// the larger of the hand-written step's error times `slack` and `floor`.
double compare(const std::string& what, const std::map<std::string, torch::Tensor>& hand,
               const std::map<std::string, torch::Tensor>& exact, const torch::nn::Module& net, double slack,
               double floor) {
  double worst = 0;
  for (const auto& p : net.named_parameters()) {
    std::string key = p.key();
    if (key.rfind("body.", 0) == 0) key = key.substr(5);
    const auto h = hand.find(key), e = exact.find(key);
    if (h == hand.end() || e == exact.end() || !p.value().grad().defined())
      throw std::runtime_error(what + " " + key + ": a gradient is missing on one side");
    const double graph_err = relative_error(p.value().grad(), e->second);
    const double hand_err = relative_error(h->second, e->second);
    std::printf("  %s gradient %-14s from float64: graph %.2e, hand-written %.2e\n", what.c_str(),
                key.c_str(), graph_err, hand_err);
    worst = std::max(worst, graph_err / std::max(hand_err * slack, floor));
  }
  return worst;
}

// One step of the graph, with G's transposed convolutions computed by `method`, against the
// hand-written step and the same step in float64; returns the worst excess of compare() (at most
// 1 when the graph is as close to the float64 step as rounding allows).
double check_method(const ganglion::PluginRegistry& registry, const std::string& graph_file,
                    const torch::Tensor& images, torch::Device device, const std::string& method) {
  // A batch of 8: LibTorch 1.13 sends stride-1 float convolutions of 16 or more images to NNPACK
  // where the CPU has it, whose Winograd kernels are about 1e-3 off in the gradients the subpixel
  // and phases formulations take (measured against float64 on an AMD EPYC; docs/performance.md);
  // below 16 every formulation runs on the exact im2col path, so a wrong term would show.
  auto g = make_graphed(registry, graph_file, device,
                        {"modules.G.params.upsampler={\"type\": \"upsamplers/transposed-conv\", \"params\": "
                         "{\"method\": \"" +
                             method + "\"}}",
                         "nodes.batch.params.batch=8"});
  bench::ReferenceDcgan reference(images.narrow(0, 0, 64), device), exact(images.narrow(0, 0, 64), device);
  reference.load_from(module_named(*g, "G"), module_named(*g, "D"));  // before the graph's step moves them
  exact.load_from(module_named(*g, "G"), module_named(*g, "D"));
  exact.to(torch::kDouble);
  torch::Tensor real, noise;
  g->executor->set_value_observer([&](const std::string& node, const ganglion::TensorMap& out) {
    if (node == "batch") real = out.at("image").detach().clone();
    if (node == "z") noise = out.at("z").detach().clone();
  });
  const auto record = g->executor->run_iteration(++g->iteration);
  if (!real.defined() || !noise.defined()) throw std::runtime_error("the graph has no nodes batch and z");
  bench::StepRecord want, want64;
  reference.step(real, noise, &want);
  exact.step(real.to(torch::kDouble), noise.to(torch::kDouble), &want64);
  std::printf("first step from the same weights, batch and noise (%s, upsampler method %s):\n",
              device.str().c_str(), method.c_str());
  // Losses: a scalar each, no cancellation to speak of; the float32 floor alone.
  double worst = 0;
  for (const auto& [phase, hand, exact_loss] :
       {std::tuple<const char*, double, double>{"D", want.d_loss, want64.d_loss},
        {"G", want.g_loss, want64.g_loss}}) {
    const double graph_loss = record.losses().at(phase);
    const double err = std::abs(graph_loss - exact_loss) / std::abs(exact_loss);
    std::printf("  loss %s: graph %.9f hand-written %.9f float64 %.9f\n", phase, graph_loss, hand,
                exact_loss);
    worst = std::max(worst, err / 1e-5);
  }
  // Gradients: within `slack` times the hand-written step's own distance from float64, or 1e-4.
  const double slack = 10, floor = 1e-4;
  worst = std::max(worst, compare("D", want.d_grads, want64.d_grads, module_named(*g, "D"), slack, floor));
  worst = std::max(worst, compare("G", want.g_grads, want64.g_grads, module_named(*g, "G"), slack, floor));
  return worst;
}

// Every formulation of the generator's transposed convolutions (auto picks per shape, LibTorch
// version and device; subpixel and phases force one for every layer) against the hand-written step.
int check(const ganglion::PluginRegistry& registry, const std::string& graph_file,
          const torch::Tensor& images, torch::Device device) {
  // Full float32 on the GPU too: TF32 convolutions round each product to 10 bits, and Adam's
  // first step, nearly sign(gradient), turns that into different weights for the G phase.
  at::globalContext().setAllowTF32CuDNN(false);
  at::globalContext().setFloat32MatmulPrecision("highest");
  // and the same cuDNN algorithms in both steps, not each one's fastest by timing.
  at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setDeterministicCuDNN(true);
  double worst = 0;
  for (const std::string method : {"auto", "subpixel", "phases"}) {
    const double excess = check_method(registry, graph_file, images, device, method);
    std::printf("method %s: worst error %.2f of what float32 rounding allows\n", method.c_str(), excess);
    worst = std::max(worst, excess);
  }
  std::printf("%s: worst error %.2f of what float32 rounding allows (1 at most)\n",
              worst <= 1 ? "same" : "DIFFERENT", worst);
  return worst <= 1 ? 0 : 1;
}

std::vector<int> parse_threads(const std::string& list) {
  std::vector<int> out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    const int n = std::atoi(item.c_str());
    if (n < 1) throw std::invalid_argument("--threads takes positive counts, comma-separated");
    out.push_back(n);
  }
  return out;
}

// Times the optimiser update alone, on copies of the hand-written model's parameters with fixed
// random gradients: torch's Adam and FusedAdam alternately, `steps` updates a round.
int optimizer_bench(const std::vector<torch::Tensor>& model, const std::vector<int>& thread_counts,
                    int rounds, int steps, int warmup, torch::Device device) {
  auto copies = [&] {
    std::vector<torch::Tensor> params;
    for (const auto& p : model) {
      auto c = p.detach().clone().set_requires_grad(true);
      c.mutable_grad() = torch::randn_like(c);
      params.push_back(c);
    }
    return params;
  };
  std::int64_t count = 0;
  for (const auto& p : model) count += p.numel();
  const auto options = torch::optim::AdamOptions(2e-4).betas({0.5, 0.5});
  std::printf("Adam update of the DCGAN's %zu parameter tensors (%lld values) on %s\n", model.size(),
              static_cast<long long>(count), device.str().c_str());
  std::printf("%7s %5s %12s %12s %10s\n", "threads", "round", "torch ms", "fused ms", "fused/torch");
  for (int threads : thread_counts) {
    torch::set_num_threads(threads);
    auto a = copies(), b = copies();
    torch::optim::Adam torch_adam(a, options);
    ganglion::FusedAdam fused_adam(b, options);
    for (int i = 0; i < warmup; ++i) torch_adam.step(), fused_adam.step();
    std::vector<double> ours, theirs;
    for (int r = 0; r < rounds; ++r) {
      theirs.push_back(ms_per_step(steps, device, [&] { torch_adam.step(); }));
      ours.push_back(ms_per_step(steps, device, [&] { fused_adam.step(); }));
      std::printf("%7d %5d %12.3f %12.3f %10.3f\n", threads, r + 1, theirs.back(), ours.back(),
                  ours.back() / theirs.back());
    }
    std::printf("%7d %5s %12.3f %12.3f %10.3f   (medians)\n", threads, "-", median(theirs), median(ours),
                median(ours) / median(theirs));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int steps = 20, rounds = 5, warmup = 5;
  std::string threads_list, device_name = "cpu", profile, python_exe;
  std::string graph_file = std::string(GANGLION_SOURCE_DIR) + "/graphs/dcgan-mnist.json";
  bool use_python = true, check_only = false, optimizer_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "dcgan_bench: %s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--steps")
      steps = std::atoi(value().c_str());
    else if (a == "--rounds")
      rounds = std::atoi(value().c_str());
    else if (a == "--warmup")
      warmup = std::atoi(value().c_str());
    else if (a == "--threads")
      threads_list = value();
    else if (a == "--device")
      device_name = value();
    else if (a == "--graph")
      graph_file = value();
    else if (a == "--python")
      python_exe = value();
    else if (a == "--no-python")
      use_python = false;
    else if (a == "--check")
      check_only = true;
    else if (a == "--optimizer")
      optimizer_only = true;
    else if (a == "--profile")
      profile = value();
    else {
      std::fprintf(a == "--help" ? stdout : stderr, "%s", kUsage);
      return a == "--help" ? 0 : 2;
    }
  }
  if (steps < 1 || rounds < 1 || warmup < 0) {
    std::fprintf(stderr, "dcgan_bench: --steps and --rounds must be at least 1, --warmup at least 0\n");
    return 2;
  }
  try {
    const int cores = ganglion::available_cores();
    std::vector<int> thread_counts =
        threads_list.empty() ? std::vector<int>{1, cores} : parse_threads(threads_list);
    thread_counts.erase(std::unique(thread_counts.begin(), thread_counts.end()), thread_counts.end());
    const torch::Device device(device_name);
    torch::manual_seed(1);
    const std::string images_file = ganglion::data_folder() + "/mnist/train-images-idx3-ubyte";
    const torch::Tensor images = ganglion::data::read_idx_u8(images_file);

    ganglion::PluginRegistry registry;
    registry.load(ganglion::PluginRegistry::search_path({}));
    if (check_only) return check(registry, graph_file, images, device);

    bench::ReferenceDcgan reference(images, device);
    if (optimizer_only)
      return optimizer_bench(reference.parameters(), thread_counts, rounds, steps * 10, warmup, device);
    auto graphed = make_graphed(registry, graph_file, device);
    auto graph_step = [&] { graphed->executor->run_iteration(++graphed->iteration); };
    if (!profile.empty()) {
      for (int i = 0; i < warmup; ++i) reference.step(), graph_step();
      {
        torch::autograd::profiler::RecordProfile trace(profile + ".graph.json");
        for (int i = 0; i < steps; ++i) graph_step();
      }
      torch::autograd::profiler::RecordProfile trace(profile + ".hand-written.json");
      for (int i = 0; i < steps; ++i) reference.step();
      return 0;
    }

    const auto python = use_python ? find_python(python_exe) : std::nullopt;
    const double gflop = reference.flops_per_step() / 1e9;
    std::printf("DCGAN step (batch 64, 28x28, D and G phases) on %s: %.2f GFLOP as hand-written\n",
                device.str().c_str(), gflop);
    if (use_python && !python)
      std::printf("(no python3 with torch and numpy found: the PyTorch-eager column is skipped)\n");
    std::printf("%7s %5s %12s %12s %12s %10s %10s\n", "threads", "round", "hand ms", "python ms", "graph ms",
                "graph/hand", "py/hand");
    struct Row {
      int threads;
      double hand, py, graph;
    };
    std::vector<Row> rows;
    for (int threads : thread_counts) {
      torch::set_num_threads(threads);
      for (int i = 0; i < warmup; ++i) reference.step(), graph_step();
      std::vector<double> hand, py, graph;
      for (int r = 0; r < rounds; ++r) {
        hand.push_back(ms_per_step(steps, device, [&] { reference.step(); }));
        if (python) py.push_back(python_ms(*python, images_file, steps, warmup, threads, device_name));
        graph.push_back(ms_per_step(steps, device, graph_step));
        std::printf("%7d %5d %12.1f %12s %12.1f %10.3f %10s\n", threads, r + 1, hand.back(),
                    python ? std::to_string(py.back()).substr(0, 7).c_str() : "-", graph.back(),
                    graph.back() / hand.back(),
                    python ? std::to_string(py.back() / hand.back()).substr(0, 5).c_str() : "-");
        std::fflush(stdout);
      }
      rows.push_back({threads, median(hand), python ? median(py) : 0.0, median(graph)});
    }
    std::printf("\nmedians (GFLOP/s = %.2f GFLOP over the time):\n", gflop);
    std::printf("%7s %20s %20s %20s %10s %10s\n", "threads", "hand-written", "PyTorch eager", "graph-driven",
                "graph/hand", "py/hand");
    for (const auto& r : rows) {
      char py[64] = "-", pyr[16] = "-";
      if (python) {
        std::snprintf(py, sizeof py, "%.1f ms %.1f GF/s", r.py, gflop / r.py * 1e3);
        std::snprintf(pyr, sizeof pyr, "%.3f", r.py / r.hand);
      }
      std::printf("%7d %10.1f ms %5.1f GF/s %20s %10.1f ms %5.1f GF/s %10.3f %10s\n", r.threads, r.hand,
                  gflop / r.hand * 1e3, py, r.graph, gflop / r.graph * 1e3, r.graph / r.hand, pyr);
    }
    return 0;
  } catch (const ganglion::UserError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dcgan_bench: %s\n", e.what());
    return 1;
  }
}
