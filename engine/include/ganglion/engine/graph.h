// A graph file after validation: every name resolved, every param checked and defaulted. Nothing
// here can be wrong any more; the planner and the trainer work from this.
#pragma once

#include <ganglion/contract.h>
#include <ganglion/params.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ganglion/engine/user_error.h"

namespace ganglion {

struct RegisteredType;

/// One output port of one node.
struct PortRef {
  int node = -1;
  std::string port;
  bool operator==(const PortRef& o) const { return node == o.node && port == o.port; }
};

/// Exponential moving average of a module's weights, used for samples.
struct EmaSpec {
  bool enabled = false;
  double beta = 0.999;
  /// Ramp-up length in steps (0: none): the effective beta at step t is
  /// min(beta, (1 + t) / (1 + t + rampup)).
  std::int64_t rampup = 0;
  /// StyleGAN2's form instead of beta (0: unused): the shadow's weight halves every
  /// `half_life_images` images, so beta = 0.5 ^ (images this iteration / half-life); with
  /// `rampup_ratio` r the half-life is at most r times the images seen so far.
  double half_life_images = 0.0;
  double rampup_ratio = 0.0;

  /// The beta of the update after iteration `step`, which drew `images` rows of data, `seen` in all.
  double beta_at(std::int64_t step, std::int64_t images, std::int64_t seen) const;
};

/// Where a module's starting weights come from instead of its initialisation: a module of a
/// trained run (a classifier whose features a metric scores, a generator to fine-tune).
struct WeightsSpec {
  std::string from;    ///< a run directory (its latest checkpoint) or a checkpoint file; "" = none
  std::string module;  ///< the module's name in that checkpoint
};

/// A graph-level schedule ("schedules"): a value that changes with training progress, a
/// piecewise-linear (or stepwise) function of the iteration or of the images seen. Nodes read it
/// through RunContext::schedule; a module's "grow" follows one.
struct ScheduleSpec {
  std::string name;
  bool by_images = false;  ///< x is the images seen, else the iteration
  bool stepwise = false;   ///< the value of the last point at or before x, else linear between points
  std::vector<std::pair<double, double>> points;  ///< (x, value), x increasing
  std::string pointer;

  /// The value at iteration `step` with `images` seen: the first point's value before it, the
  /// last's after it.
  double at(std::int64_t step, std::int64_t images) const;
};

struct ModuleEntry {
  std::string name;
  const RegisteredType* type = nullptr;
  Params params;
  EmaSpec ema;
  WeightsSpec weights;
  /// Index into Graph::schedules of the schedule whose whole value is the module's stage (it grows
  /// when it rises), or -1.
  int grow = -1;
  std::string pointer;  ///< JSON pointer of its entry, for messages
};

/// When a source draws a new sample.
enum class DrawPolicy {
  PerIteration,  ///< once per iteration, shared by every phase (DCGAN's real batch and z)
  PerPhase,      ///< at every phase run, repetitions included (WGAN-GP's critic steps)
};

struct NodeEntry {
  std::string name;
  const RegisteredType* type = nullptr;  ///< the node's type, or the applied module's type
  int module = -1;                       ///< index into Graph::modules when the node applies one
  Params params;
  std::map<std::string, PortRef> inputs;
  /// Inputs given as {"from": ..., "stale": true}: they read the value an earlier phase of the
  /// iteration computed, detached, even if a module it depends on has been updated since.
  std::set<std::string> stale_inputs;
  /// Inputs given as {"from": ..., "previous": true}: the value the port had when an earlier
  /// iteration last computed it, detached, and absent until one has (so only optional inputs take
  /// one). Kept apart from `inputs`: such an edge closes no cycle and pulls nothing into a phase,
  /// which is how ADA's probability can follow D's scores of the images it augmented.
  std::map<std::string, PortRef> previous_inputs;
  DrawPolicy draw = DrawPolicy::PerIteration;
  std::string pointer;

  const Contract& contract() const;
  NodeKind kind() const { return contract().kind(); }
  /// A function node whose contract is a metric: what evaluations run when none are named.
  bool is_metric() const;
};

struct OptimizerSpec {
  std::string type = "adam";  ///< adam, sgd, rmsprop
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;  ///< adam
  double momentum = 0.0;              ///< sgd, rmsprop
  double alpha = 0.99;                ///< rmsprop smoothing
  double eps = 1e-8;
  double weight_decay = 0.0;
  /// Learning-rate schedule, a pure function of the iteration (so resuming needs no state):
  /// constant; linear from 1 after iteration `start` to `to` at iteration `end` (0: the run's last
  /// iteration); or step, times `gamma` after every `every` iterations (as PyTorch's StepLR).
  std::string schedule = "constant";
  std::int64_t start = 0, end = 0, every = 0;
  double to = 0.0, gamma = 0.1;

  /// The factor on `lr` at iteration `step` (counted from 1) of a run that ends at `last_step`.
  double lr_factor(std::int64_t step, std::int64_t last_step) const;
};

/// A module an optimiser updates, with the settings of its param group.
struct UpdateEntry {
  int module = -1;
  OptimizerSpec optimizer;
};

/// An optimiser: one of the graph's "optimizers" (named, possibly shared by several phases, as
/// StyleGAN2 steps one Adam in D's main and its lazy R1 phase), or the one a phase declares
/// inline for itself. It owns one param group per module it updates, and its state is
/// checkpointed once.
struct OptimizerEntry {
  std::string name;    ///< its key under "optimizers", or the phase's name for an inline one
  bool named = false;  ///< declared under "optimizers"
  OptimizerSpec spec;  ///< the settings every group starts from
  /// One group per module, in the order phases first name them.
  std::vector<UpdateEntry> groups;
  /// Set by a phase with "lazy": true that runs every N iterations: lr times N/(N+1) and Adam's
  /// betas to the power N/(N+1) (StyleGAN2's lazy regularisation); 0 = no adjustment.
  std::int64_t lazy_interval = 0;
  std::vector<int> phases;  ///< the phases that step it
  std::string pointer;

  /// The factor on every group's lr from the lazy adjustment (1 without).
  double lazy_ratio() const {
    return lazy_interval > 0 ? double(lazy_interval) / double(lazy_interval + 1) : 1.0;
  }
  /// Index into `groups` of module `m`, or -1.
  int group_of(int m) const;
  /// The key of its state in a checkpoint: "optimizer/PHASE" for an inline one (as before named
  /// optimisers existed, so older checkpoints resume), "optimizers/NAME" for a named one.
  std::string checkpoint_key() const { return (named ? "optimizers/" : "optimizer/") + name; }
};

struct PhaseSpec {
  std::string name;
  PortRef minimize;
  std::vector<UpdateEntry> update;
  std::int64_t every = 1;   ///< runs on iterations where (iteration - from) % every == 0
  std::int64_t repeat = 1;  ///< runs this many times in a row when it runs
  std::int64_t from = 1;    ///< first iteration it runs at
  int optimizer = -1;       ///< index into Graph::optimizers
  bool lazy = false;        ///< adjusts its optimiser for running every `every` iterations
  std::string pointer;

  bool updates(int module) const;
  /// Whether it runs at iteration `step` (counted from 1).
  bool due(std::int64_t step) const { return step >= from && (step - from) % every == 0; }
};

/// One grid of samples that a run writes (outputs.samples): the rows of one output, or a row from
/// each of several outputs drawn together (CycleGAN's real A, fake B and reconstructed A).
struct SamplesSpec {
  std::string name;           ///< "" for the single grid of {"from": ...}, else its key
  std::vector<PortRef> rows;  ///< one output, or several stacked row after row
  const RegisteredType* writer = nullptr;
  Params writer_params;
  /// Whether the graph sets the param the writer's contract names as its row length
  /// (Contract::row_length_param); if not, a grid of several rows sets it to their batch size.
  bool row_length_given = false;
  std::int64_t every = 500;
  std::string pointer;  ///< "/outputs/samples" or "/outputs/samples/NAME"
  /// "sequence": the rows drawn for `steps` steps and joined along dimension `axis`, each step
  /// from the data's next batch and fresh noise, and from the second step on each output `feed`
  /// replaces (a bar's previous bar) holding what its source (the bar generated) gave the step
  /// before: MidiNet's bar-by-bar melody.
  struct Sequence {
    std::int64_t steps = 0;  ///< 0: a single draw, not a sequence
    std::int64_t axis = 2;
    struct Feed {
      PortRef replaced, from;
    };
    std::vector<Feed> feed;
  } sequence;

  /// The file name of the grid written at `step`, without the writer's extension.
  std::string file_stem(std::int64_t step) const;
};

/// outputs.translate: how `ganglion translate` applies a trained translator to a user's own files,
/// one output file per input file: each file read by a reader (a source type with a path param
/// `file`), fed to one input of a node that applies a module, its output written by a writer.
struct TranslateSpec {
  std::string name;    ///< "" for the single form {"node": ...}, else its key ("a2b")
  int node = -1;       ///< the node whose module translates
  std::string input;   ///< the node's input port each file feeds
  std::string output;  ///< the node's output port that is written
  const RegisteredType* reader = nullptr;
  Params reader_params;     ///< `file` is set for each file
  std::string reader_port;  ///< the reader's output that feeds `input`
  const RegisteredType* writer = nullptr;
  Params writer_params;
  /// Tiles of tile x tile pixels translated one by one and put back together (images B,C,H,W
  /// larger than the net takes at once); 0: the whole value at once.
  std::int64_t tile = 0;
  std::string pointer;  ///< "/outputs/translate" or "/outputs/translate/NAME"
};

/// outputs.eval: metrics on a draw of samples every N iterations, into log.jsonl.
struct EvalSpec {
  bool enabled = false;
  std::int64_t every = 1000;
  std::int64_t samples = 2500;       ///< rows drawn for each metric input
  std::vector<std::string> metrics;  ///< node names; empty = every metrics/ node
};

struct OutputsSpec {
  /// Empty when the graph writes no samples.
  std::vector<SamplesSpec> samples;
  EvalSpec eval;
  std::int64_t checkpoint_every = 1000;
  std::int64_t keep_checkpoints = 3;
  std::int64_t log_every = 10;
  /// Single numbers logged beside the losses ("log": {"values": ["ada.probability"]}): each one's
  /// latest value computed in training.
  std::vector<PortRef> log_values;
  /// Empty when the graph declares no translator.
  std::vector<TranslateSpec> translate;
};

struct Graph {
  std::string file;
  std::string name;
  std::uint64_t seed = 1;
  std::int64_t steps = 1000;  ///< iterations a run does unless --steps says otherwise
  std::vector<ModuleEntry> modules;
  std::vector<NodeEntry> nodes;
  std::vector<PhaseSpec> phases;
  std::vector<OptimizerEntry> optimizers;
  std::vector<ScheduleSpec> schedules;
  OutputsSpec outputs;
  /// What validates but is probably not what the author meant (a module nothing trains or loads,
  /// a phase that trains both sides of an adversarial pair); commands print them on stderr.
  std::vector<Diagnostic> warnings;
  /// The document after --set overrides: what the run directory records as the resolved graph.
  nlohmann::json document;

  int find_node(const std::string& name) const;
  int find_module(const std::string& name) const;
  int find_schedule(const std::string& name) const;
  /// The samples grid named `name` ("" = the first), or null.
  const SamplesSpec* find_samples(const std::string& name) const;
  /// "batch.image", or "fake" when the node has one output.
  std::string port_name(const PortRef& ref) const;
};

}  // namespace ganglion
