#include "ganglion/engine/checkpoint.h"

#include <torch/serialize.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <vector>

#include "ganglion/engine/atomic_file.h"
#include "ganglion/engine/executor.h"
#include "ganglion/engine/user_error.h"

namespace fs = std::filesystem;

namespace ganglion {

namespace {

std::vector<CheckpointFile> list_checkpoints(const std::string& run_dir) {
  std::vector<CheckpointFile> out;
  std::error_code ec;
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(dir, ec)) return out;
  static const std::regex name("step-([0-9]+)\\.pt");
  for (const auto& f : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string file = f.path().filename().string();
    if (std::regex_match(file, m, name)) out.push_back({f.path().string(), std::stoll(m[1])});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.step < b.step; });
  return out;
}

std::string step_name(std::int64_t step) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "step-%08lld.pt", static_cast<long long>(step));
  return buf;
}

}  // namespace

std::optional<CheckpointFile> latest_checkpoint(const std::string& run_dir) {
  auto all = list_checkpoints(run_dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

std::optional<NamedCheckpoint> named_checkpoint(const std::string& path) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    const fs::path folder = fs::path(path).parent_path();
    return NamedCheckpoint{path, folder.filename() == "checkpoints" ? folder.parent_path().string() : ""};
  }
  if (!fs::is_directory(path, ec)) return std::nullopt;
  const auto latest = latest_checkpoint(path);
  return NamedCheckpoint{latest ? latest->path : std::string(), path};
}

std::string write_checkpoint(const std::string& run_dir, std::int64_t step, const Executor& executor,
                             std::int64_t keep, const std::string& run_state) {
  const fs::path dir = fs::path(run_dir) / "checkpoints";
  fs::create_directories(dir);
  torch::serialize::OutputArchive archive;
  executor.save(archive);
  nlohmann::json meta{{"step", step}, {"nodes", executor.node_states()}, {"format", 1}};
  // What sources built from their data (a vocabulary): a resumed run and its samples keep it.
  nlohmann::json derived = nlohmann::json::object();
  for (const auto& [node, d] : executor.derived()) derived[node] = d.text;
  if (!derived.empty()) meta["derived"] = derived;
  if (!run_state.empty()) meta["run"] = nlohmann::json::parse(run_state);
  archive.write("meta", c10::IValue(meta.dump()));
  const fs::path final_path = dir / step_name(step);
  write_atomically(final_path.string(), [&](const std::string& tmp) { archive.save_to(tmp); });
  auto all = list_checkpoints(run_dir);
  for (size_t i = 0; i + keep < all.size(); ++i) fs::remove(all[i].path);
  return final_path.string();
}

std::int64_t read_checkpoint(const std::string& path, Executor& executor, std::string* run_state) {
  torch::serialize::InputArchive archive;
  nlohmann::json meta;
  try {
    // Tensors go straight to the run's device, so optimiser state and weights stay together.
    archive.load_from(path, executor.device());
    c10::IValue value;
    archive.read("meta", value);
    meta = nlohmann::json::parse(value.toStringRef());
  } catch (const std::exception&) {
    throw UserError(
        path, "",
        "not a readable Ganglion checkpoint (corrupt or truncated): delete it to resume from an earlier one");
  }
  if (!meta.is_object() || meta.value("format", 0) != 1 || !meta.contains("step"))
    throw UserError(path, "", "not a Ganglion checkpoint of format 1");
  executor.load(archive, path);
  // Before the positions: a source reads from its position with what it adopted.
  executor.adopt_derived(meta.value("derived", std::map<std::string, std::string>{}));
  executor.restore_node_states(meta.value("nodes", std::map<std::string, std::string>{}));
  if (run_state) *run_state = meta.contains("run") ? meta["run"].dump() : std::string();
  return meta["step"].get<std::int64_t>();
}

}  // namespace ganglion
