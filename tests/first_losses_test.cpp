// The first steps of some shipped graphs, against the losses recorded before Engine v2 changed
// the engine (bench/first_losses.py record tests/golden/first-losses.json): every graph must train
// exactly as before; a graph changed on purpose since is held to its newer recording
// (first-losses-since-engine-v2.json). Bit-identical on the CPU a file was recorded on; elsewhere
// oneDNN may pick other kernels, so only the first steps are compared, and within a tolerance.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "ganglion/engine/json_file.h"
#include "test_support.h"

using nlohmann::json;
using namespace ganglion;

namespace {

/// The instruction sets that choose oneDNN's and OpenBLAS's kernels (bench/first_losses.py's list).
nlohmann::json cpu_isa() {
  std::ifstream in("/proc/cpuinfo");
  nlohmann::json out = nlohmann::json::array();
  for (std::string line; std::getline(in, line);)
    if (line.rfind("flags", 0) == 0) {
      const std::string flags = " " + line.substr(line.find(':') + 1) + " ";
      for (const char* f : {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile"})
        if (flags.find(std::string(" ") + f + " ") != std::string::npos) out.push_back(f);
      break;
    }
  return out;
}

/// Family, model and cache size (bench/first_losses.py's cpu_id): CPUs alike in these choose the
/// same kernel blockings.
std::string cpu_id() {
  std::ifstream in("/proc/cpuinfo");
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(in, line) && !line.empty();) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto key = line.substr(0, colon), value = line.substr(colon + 1);
    key.erase(key.find_last_not_of(" \t") + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    fields[key] = value;
  }
  const auto get = [&](const char* k) { return fields.count(k) ? fields[k] : std::string("?"); };
  return "family " + get("cpu family") + " model " + get("model") + ", cache " + get("cache size");
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      auto model = line.substr(colon + 1);
      model.erase(0, model.find_first_not_of(" \t"));
      return model;
    }
  return "";
}

/// Runs each of `cases` (graph, steps) and compares its losses with those `file` recorded: bit for
/// bit on the CPU it was recorded on, else the first 3 steps within 1e-3.
void compare_first_losses(const std::string& file, const std::vector<std::pair<std::string, int>>& cases) {
  const json recorded = load_json_file(std::string(GANGLION_SOURCE_DIR) + "/tests/golden/" + file);
  const bool same_cpu = recorded.at("cpu") == cpu_model() && recorded.at("isa") == cpu_isa() &&
                        recorded.value("cpu_id", "") == cpu_id();
  if (!same_cpu)
    MESSAGE(file << " was recorded on " << recorded.at("cpu") << " " << recorded.value("cpu_id", "") << " "
                 << recorded.at("isa").dump() << ", running on " << cpu_model() << " " << cpu_id() << " "
                 << cpu_isa().dump() << ": comparing the first 3 steps within 1e-3 instead of bit for bit");
  for (const auto& [name, steps] : cases) {
    CAPTURE(name);
    REQUIRE_FALSE(recorded.value("superseded", json::object()).contains(name));
    const std::string out = test::temp_dir("first-" + name);
    const auto r = test::run_cli({"run", std::string(GANGLION_SOURCE_DIR) + "/graphs/" + name + ".json",
                                  "--out", out, "--steps", std::to_string(steps), "--threads", "1",
                                  "--device", "cpu", "--set", "outputs.log.every=1"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    const json& want = recorded.at("graphs").at(name);
    int compared = 0;
    for (const auto& line : test::read_log(out)) {
      if (!line.contains("losses")) continue;
      const auto step = line.at("step").get<std::int64_t>();
      if (!same_cpu && step > 3) continue;
      const json& then = want.at(std::to_string(step));
      for (const auto& [phase, value] : line.at("losses").items()) {
        if (line.at("computed_at").at(phase) != step) continue;  // an older value, logged again
        CAPTURE(step);
        CAPTURE(phase);
        REQUIRE(then.contains(phase));
        const double a = value.get<double>(), b = then.at(phase).get<double>();
        if (same_cpu)
          CHECK(a == b);
        else
          CHECK(std::abs(a - b) <= 1e-3 * std::max(1.0, std::abs(b)));
        ++compared;
      }
    }
    CHECK(compared >= (same_cpu ? steps : 3));
  }
}

}  // namespace

TEST_CASE("FirstLosses.ShippedGraphsTrainAsBeforeEngineV2") {
  REQUIRE(test::mnist_available());
  // Each exercises a planner path: reuse (dcgan), repeats with per-phase draws and a double
  // backward (wgan-gp), MLPs on a mixture (ring).
  compare_first_losses("first-losses.json", {{"gan-ring8", 30}, {"dcgan-mnist", 12}, {"wgan-gp-mnist", 3}});
  // Every-N phases sharing an optimizer with a lazy adjustment: recorded again after the graph
  // itself changed (its R1 phase steps D's Adam since Engine v2).
  compare_first_losses("first-losses-since-engine-v2.json", {{"dcgan-r1-ema-mnist", 18}});
}
