// What a checkpoint holds of a run (modules, EMA shadows, optimisers, generators, stages, node
// state) and the starting weights a module entry names.
#include "ganglion/engine/executor.h"

#include <torch/serialize.h>

#include <ganglion/plugin.h>
#include "ganglion/engine/checkpoint.h"
#include "ganglion/engine/prefetcher.h"
#include "ganglion/engine/user_error.h"
#include "run/executor_parts.h"

namespace ganglion {

void Executor::save(torch::serialize::OutputArchive& archive) const {
  for (size_t m = 0; m < built_->modules.size(); ++m) {
    torch::serialize::OutputArchive sub;
    built_->modules[m]->save(sub);
    archive.write("module/" + graph_.modules[m].name, sub);
    if (built_->ema[m]) {
      torch::serialize::OutputArchive e;
      built_->ema[m]->save(e);
      archive.write("ema/" + graph_.modules[m].name, e);
    }
  }
  for (size_t o = 0; o < built_->optimizers.size(); ++o) {
    torch::serialize::OutputArchive sub;
    built_->optimizers[o].optimizer->save(sub);
    archive.write(graph_.optimizers[o].checkpoint_key(), sub);
  }
  archive.write("rng/engine", state_->context.generator_.get_state());
  for (const auto& [node, gen] : state_->context.node_generators_)
    archive.write("rng/node/" + graph_.nodes[node].name, gen.get_state());
  for (size_t i = 0; i < built_->functions.size(); ++i) {
    if (!built_->functions[i]) continue;
    const TensorMap state = built_->functions[i]->state_tensors();
    if (state.empty()) continue;
    torch::serialize::OutputArchive sub;
    for (const auto& [key, t] : state) sub.write(key, t);
    archive.write("state/" + graph_.nodes[i].name, sub);
  }
  // What previous-iteration inputs will read in the next iteration.
  for (const auto& [node, outputs] : state_->previous) {
    torch::serialize::OutputArchive sub;
    for (const auto& [port, t] : outputs) sub.write(port, t);
    archive.write("previous/" + graph_.nodes[node].name, sub);
  }
  archive.write("stages", torch::tensor(state_->stage, torch::kLong));
  {
    auto cpu = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(cpu.mutex());
    archive.write("rng/torch", cpu.get_state());
  }
  archive.write("versions", torch::tensor(state_->module_version, torch::kLong));
  archive.write("images_seen", torch::tensor(state_->images_seen, torch::kLong));
}

namespace run_parts {

/// Every parameter or buffer whose stored shape differs from the module's, mirroring how
/// torch::nn::Module::save nests its archives (own tensors, then one archive per child).
void shape_mismatches(torch::nn::Module& module, torch::serialize::InputArchive& archive,
                      const std::string& prefix, std::vector<std::string>& out) {
  auto check = [&](const std::string& key, const torch::Tensor& have, bool buffer) {
    torch::Tensor stored;
    if (archive.try_read(key, stored, buffer) && stored.sizes() != have.sizes())
      out.push_back(prefix + key + " is " + c10::str(stored.sizes()) + " in the checkpoint but " +
                    c10::str(have.sizes()) + " in the graph");
  };
  for (const auto& p : module.named_parameters(false)) check(p.key(), p.value(), false);
  for (const auto& b : module.named_buffers(false)) check(b.key(), b.value(), true);
  for (const auto& c : module.named_children()) {
    torch::serialize::InputArchive child;
    if (archive.try_read(c.key(), child)) shape_mismatches(*c.value(), child, prefix + c.key() + ".", out);
  }
}

/// The first tensor of `module` whose shape the archive does not match, with how many more do
/// not; "" when all fit.
std::string shape_mismatch(torch::nn::Module& module, torch::serialize::InputArchive& archive) {
  std::vector<std::string> all;
  shape_mismatches(module, archive, "", all);
  if (all.empty()) return {};
  return all.front() +
         (all.size() > 1 ? " (and " + std::to_string(all.size() - 1) + " more)" : std::string());
}

void load_weights(const ModuleEntry& m, torch::nn::Module& net, torch::Device device) {
  const std::string where = m.pointer + "/weights";
  const auto named = named_checkpoint(m.weights.from);
  if (!named)
    throw UserError(m.weights.from, where,
                    "no such run directory or checkpoint file (relative paths start at the current "
                    "directory): train that run first with ganglion run, or fix the path");
  if (named->file.empty())
    throw UserError(m.weights.from, where,
                    "the run directory has no checkpoints yet: train it first (ganglion run GRAPH), "
                    "or name a checkpoint file");
  const std::string& file = named->file;
  torch::serialize::InputArchive archive, sub;
  try {
    archive.load_from(file, device);
  } catch (const std::exception&) {
    throw UserError(file, where, "not a readable Ganglion checkpoint (corrupt or truncated)");
  }
  if (!archive.try_read("module/" + m.weights.module, sub))
    throw UserError(file, where,
                    "the checkpoint has no module \"" + m.weights.module +
                        "\": name the module it holds with {\"from\": ..., \"module\": NAME}");
  const std::string mismatch = shape_mismatch(net, sub);
  if (!mismatch.empty())
    throw UserError(file, where,
                    "module " + m.weights.module + " does not fit module " + m.name + " of this graph: " +
                        mismatch + " (are the params the same as in the run that trained it?)");
  try {
    net.load(sub);
  } catch (const std::exception& e) {
    throw UserError(file, where,
                    "module " + m.weights.module + " does not fit module " + m.name + ": " + message_of(e));
  }
}

}  // namespace run_parts

using run_parts::shape_mismatch;

void Executor::load(torch::serialize::InputArchive& archive, const std::string& file) {
  std::string what = "";
  try {
    // A module that had grown is grown to the same stage first, so that its weights and its
    // optimisers' state fit.
    what = "stages";
    torch::Tensor stages;
    if (archive.try_read("stages", stages) && stages.numel() == static_cast<int64_t>(state_->stage.size()))
      for (size_t m = 0; m < state_->stage.size(); ++m) {
        const std::int64_t stage = stages[m].item<std::int64_t>();
        if (stage > state_->stage[m]) grow_to(static_cast<int>(m), stage);
      }
    for (size_t m = 0; m < built_->modules.size(); ++m) {
      what = "module " + graph_.modules[m].name;
      torch::serialize::InputArchive sub;
      archive.read("module/" + graph_.modules[m].name, sub);
      const std::string mismatch = shape_mismatch(*built_->modules[m], sub);
      if (!mismatch.empty())
        throw UserError(
            file, "",
            "the checkpoint does not fit this graph: module " + graph_.modules[m].name + ": " + mismatch);
      built_->modules[m]->load(sub);
      if (built_->ema[m]) {
        torch::serialize::InputArchive e;
        archive.read("ema/" + graph_.modules[m].name, e);
        built_->ema[m]->load(e);
      }
    }
    for (size_t o = 0; o < built_->optimizers.size(); ++o) {
      const OptimizerEntry& entry = graph_.optimizers[o];
      what = entry.named ? "optimizer " + entry.name : "optimizer of phase " + entry.name;
      torch::serialize::InputArchive sub;
      archive.read(entry.checkpoint_key(), sub);
      built_->optimizers[o].optimizer->load(sub);
    }
    what = "random state";
    torch::Tensor state;
    archive.read("rng/engine", state);
    state_->context.generator_.set_state(state.to(torch::kCPU));
    state_->context.node_generators_.clear();
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      torch::Tensor node_state;
      if (!archive.try_read("rng/node/" + graph_.nodes[i].name, node_state)) continue;
      state_->context.generator_of(static_cast<int>(i)).set_state(node_state.to(torch::kCPU));
    }
    what = "node state";
    for (size_t i = 0; i < built_->functions.size(); ++i) {
      torch::serialize::InputArchive sub;
      if (!built_->functions[i] || !archive.try_read("state/" + graph_.nodes[i].name, sub)) continue;
      TensorMap tensors;
      for (const auto& key : sub.keys()) {
        torch::Tensor t;
        sub.read(key, t);
        tensors[key] = t;
      }
      built_->functions[i]->restore_tensors(tensors);
    }
    what = "previous-iteration values";
    state_->previous.clear();
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
      torch::serialize::InputArchive sub;
      if (built_->read_next_iteration[i].empty() ||
          !archive.try_read("previous/" + graph_.nodes[i].name, sub))
        continue;
      // Only the ports read now: a port the node no longer has is left absent, as in a first iteration.
      TensorMap& outputs = state_->previous[static_cast<int>(i)];
      for (const auto& key : sub.keys()) {
        if (!built_->read_next_iteration[i].count(key)) continue;
        torch::Tensor t;
        sub.read(key, t);
        outputs[key] = t.to(built_->device);
      }
    }
    archive.read("rng/torch", state);
    {
      auto cpu = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(cpu.mutex());
      cpu.set_state(state.to(torch::kCPU));
    }
    torch::Tensor versions;
    archive.read("versions", versions);
    if (versions.numel() == static_cast<int64_t>(state_->module_version.size()))
      for (size_t m = 0; m < state_->module_version.size(); ++m)
        state_->module_version[m] = versions[m].item<int64_t>();
    // Checkpoints from before images were counted resume from 0.
    torch::Tensor seen;
    state_->images_seen = archive.try_read("images_seen", seen) ? seen.item<std::int64_t>() : 0;
  } catch (const UserError&) {
    throw;
  } catch (const NodeFailure& e) {
    throw UserError(graph_.file, e.pointer(), std::string(e.what()) + " (resuming from " + file + ")");
  } catch (const std::exception& e) {
    throw UserError(file, "", "the checkpoint does not fit this graph (" + what + "): " + message_of(e));
  }
  // Gradient tracking flags follow the parameters just loaded.
  state_->tracking.assign(built_->modules.size(), 2);
}

std::map<std::string, std::string> Executor::node_states() const {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    std::string state;
    if (built_->prefetchers[i])
      state = built_->prefetchers[i]->position();
    else if (built_->sources[i])
      state = built_->sources[i]->position();
    else if (built_->functions[i])
      state = built_->functions[i]->state();
    if (!state.empty()) out[graph_.nodes[i].name] = state;
  }
  return out;
}

std::map<std::string, Source::Derived> Executor::derived() const {
  std::map<std::string, Source::Derived> out;
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    if (!built_->sources[i]) continue;
    // Made when the source was, or adopted with its thread stopped: safe to read beside it.
    Source::Derived d = built_->sources[i]->derived();
    if (!d.text.empty()) out[graph_.nodes[i].name] = std::move(d);
  }
  return out;
}

void Executor::adopt_derived(const std::map<std::string, std::string>& texts) {
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    auto it = texts.find(graph_.nodes[i].name);
    if (it == texts.end() || it->second.empty() || !built_->sources[i]) continue;
    try {
      if (built_->prefetchers[i])
        built_->prefetchers[i]->adopt(it->second);
      else
        built_->sources[i]->adopt(it->second);
      built_->adopted[i] = it->second;
    } catch (const std::exception& e) {
      throw UserError(describe(graph_.nodes[i]) + " cannot take what the run built from its data (" +
                      message_of(e) + "): were its params changed since the run?");
    }
  }
}

void Executor::restore_node_states(const std::map<std::string, std::string>& states) {
  for (size_t i = 0; i < graph_.nodes.size(); ++i) {
    auto it = states.find(graph_.nodes[i].name);
    if (it == states.end() || it->second.empty()) continue;
    try {
      if (built_->prefetchers[i])
        built_->prefetchers[i]->seek(it->second);
      else if (built_->sources[i])
        built_->sources[i]->seek(it->second);
      else if (built_->functions[i])
        built_->functions[i]->restore(it->second);
    } catch (const std::exception& e) {
      // Most often the node's params differ from those the run was trained with (another split,
      // a smaller limit): say so, and how samples and evaluations draw other data.
      throw UserError(describe(graph_.nodes[i]) + " cannot continue from the checkpoint: " + message_of(e) +
                      " (were its params changed since the run? To sample or evaluate on other data, add a "
                      "source node of its own, as graphs/probes/pix2pix-emoji-quality.json does)");
    }
  }
}

}  // namespace ganglion
