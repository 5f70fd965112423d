// The `ganglion` verbs: each one a CommandSpec whose options are declared once.
#include "commands.h"
#include "edit_help.h"
#include "edit_session.h"
#include "style_sampling.h"
#ifdef GANGLION_HAVE_MIDI
#include "melody_sampling.h"
#endif
#include "translation.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include <ganglion/plugin.h>
#include "ganglion/engine/atomic_file.h"
#include "ganglion/engine/checkpoint.h"
#include "ganglion/engine/evaluation.h"
#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph_dot.h"
#include "ganglion/engine/graph_edit.h"
#include "ganglion/engine/graph_loader.h"
#include "ganglion/engine/graph_schema.h"
#include "ganglion/engine/json_file.h"
#include "ganglion/engine/planner.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/trainer.h"
#include "ganglion/engine/user_error.h"

namespace ganglion::cli {

namespace {

const OptionSpec kPluginPath{"plugin-path", "DIR", "also load plugins from DIR (a folder or a .so)", true};
const OptionSpec kSet{
    "set", "PATH=VALUE",
    "override a graph field, e.g. nodes.batch.params.batch=32 (VALUE is JSON, else a string)", true};
const OptionSpec kInclude{"include", "FILE",
                          "merge a graph fragment (modules, nodes, outputs) into the graph, e.g. "
                          "graphs/probes/mnist-quality.json",
                          true};
const OptionSpec kHelp{"help", "", "show this help"};
const OptionSpec kCheckpoint{"checkpoint", "PATH",
                             "a checkpoint file or a run directory (default: runs/<graph name>, its newest)"};
const OptionSpec kWeights{
    "weights", "W", "ema (default: a module's EMA shadow where it keeps one) or raw (the trained weights)"};

/// Whether --weights asks for the EMA shadows (the default) or the raw weights.
bool sample_with_ema(const ParsedArgs& args) {
  const std::string w = args.value("weights", "ema");
  if (w != "ema" && w != "raw") throw UserError("--weights " + w + ": expected ema or raw");
  return w == "ema";
}
const OptionSpec kDevice{"device", "D", "cpu, cuda, cuda:N or auto (default: auto)"};
const OptionSpec kMidiApi{"midi-api", "API",
                          "auto (ALSA where its sequencer opens, else JACK), alsa or jack"};
const OptionSpec kThreads{"threads", "N",
                          "CPU threads for compute (default: every core this process may use)"};

/// Loads every plugin on the search path; reports skipped libraries on stderr (never silently).
PluginRegistry load_plugins(const ParsedArgs& args, bool quiet_about_skipped = false) {
  for (const auto& path : args.values("plugin-path")) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw UserError("--plugin-path " + path +
                      ": no such folder or file (name a folder of plugins or a .so)");
  }
  PluginRegistry registry;
  registry.load(PluginRegistry::search_path(args.values("plugin-path")));
  if (!quiet_about_skipped)
    for (const auto& s : registry.skipped())
      std::fprintf(stderr, "ganglion: skipped plugin %s: %s\n", s.file.c_str(), s.reason.c_str());
  // A warning, not an error: one GANGLION_PLUGIN_PATH often serves machines that differ.
  if (const char* env = std::getenv("GANGLION_PLUGIN_PATH")) {
    std::stringstream entries(env);
    std::string entry;
    std::error_code ec;
    while (std::getline(entries, entry, ':'))
      if (!entry.empty() && !std::filesystem::exists(entry, ec))
        std::fprintf(stderr, "ganglion: GANGLION_PLUGIN_PATH names %s, which does not exist (skipped)\n",
                     entry.c_str());
  }
  return registry;
}

/// The graph the command's first argument names, with its --set and --include; its warnings (what
/// validates but is probably a mistake) go to stderr.
Graph graph_of(const ParsedArgs& args, const PluginRegistry& registry,
               const std::vector<std::string>& extra_overrides = {}, bool warn = true) {
  std::vector<std::string> overrides = args.values("set");
  overrides.insert(overrides.end(), extra_overrides.begin(), extra_overrides.end());
  Graph graph = load_graph(args.positional[0], overrides, registry, args.values("include"));
  if (warn)
    for (const auto& w : graph.warnings) std::fprintf(stderr, "%s\n", w.format().c_str());
  return graph;
}

/// "a, b, c", or "none".
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out.empty() ? std::string("none") : out;
}

/// The value of option --`name` as a whole number of at least `min`; nothing when it is absent.
std::optional<long long> whole_number(const ParsedArgs& args, const std::string& name, long long min) {
  if (!args.has(name)) return std::nullopt;
  const std::string v = args.value(name);
  try {
    size_t used = 0;
    const long long x = std::stoll(v, &used);
    if (used == v.size() && x >= min) return x;
  } catch (const std::exception&) {
  }
  throw UserError("--" + name + " " + v + ": expected a whole number of at least " + std::to_string(min));
}

/// Option --`name` as a duration: a number of seconds, or parts with units such as 90s, 15m,
/// 1h30m; nothing when it is absent.
std::optional<double> duration_seconds(const ParsedArgs& args, const std::string& name) {
  if (!args.has(name)) return std::nullopt;
  const std::string v = args.value(name);
  const auto refuse = [&]() -> std::optional<double> {
    throw UserError("--" + name + " " + v + ": expected a duration such as 900, 90s, 15m or 1h30m");
  };
  double total = 0;
  size_t at = 0;
  while (at < v.size()) {
    size_t used = 0;
    double amount = 0;
    try {
      amount = std::stod(v.substr(at), &used);
    } catch (const std::exception&) {
      return refuse();
    }
    if (!(amount >= 0) || !std::isfinite(amount) || v[at] == '-' || v[at] == '+') return refuse();
    at += used;
    double unit = 1;
    if (at < v.size()) {
      const char u = v[at++];
      if (u == 'h')
        unit = 3600;
      else if (u == 'm')
        unit = 60;
      else if (u != 's')
        return refuse();
    } else if (total > 0) {
      return refuse();  // "1h30" is ambiguous
    }
    total += amount * unit;
  }
  if (!(total > 0)) return refuse();
  return total;
}

int run_command(const ParsedArgs& args) {
  auto registry = load_plugins(args);
  const Graph graph = graph_of(args, registry);
  RunOptions options;
  options.out = args.value("out");
  options.resume = args.has("resume");
  options.device = args.value("device", "auto");
  options.log_format = args.value("log-format", "text");
  if (options.log_format != "text" && options.log_format != "jsonl")
    throw UserError("--log-format " + options.log_format + ": expected text or jsonl");
  options.steps = whole_number(args, "steps", 1);
  options.threads = static_cast<int>(whole_number(args, "threads", 1).value_or(0));
  options.time_limit_s = duration_seconds(args, "time-limit");
  return train(graph, options);
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

/// The checkpoint --checkpoint names (a file, or the newest in a run directory, by default the
/// graph's runs/<name>) and the run directory it belongs to ("" for a file elsewhere).
std::pair<std::string, std::string> choose_checkpoint(const ParsedArgs& args, const Graph& graph) {
  const std::string given = args.value("checkpoint", "runs/" + graph.name);
  const auto named = named_checkpoint(given);
  if (!named)
    throw UserError(
        "--checkpoint " + given + ": no such file or run directory" +
        (args.has("checkpoint") ? std::string() : " (train first: ganglion run " + graph.file + ")"));
  if (named->file.empty())
    throw UserError(given + ": no checkpoint in " + given + "/checkpoints; train first (ganglion run " +
                    graph.file + ") or name one with --checkpoint FILE");
  return {named->file, named->run_dir};
}

int eval_command(const ParsedArgs& args) {
  namespace fs = std::filesystem;
  auto registry = load_plugins(args);
  const Graph graph = graph_of(args, registry);
  const std::vector<int> nodes = metric_nodes(graph, split_commas(args.value("metrics")));
  const long long samples = whole_number(args, "samples", 1).value_or(graph.outputs.eval.samples);
  torch::set_num_threads(static_cast<int>(whole_number(args, "threads", 1).value_or(available_cores())));
  const auto [checkpoint, run_dir] = choose_checkpoint(args, graph);
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::Device(resolve_device(args.value("device", "auto"))));
  executor.set_sample_with_ema(sample_with_ema(args));
  const std::int64_t step = read_checkpoint(checkpoint, executor);
  nlohmann::json figures;
  try {
    figures = evaluate_metrics(executor, graph, nodes, samples);
  } catch (const NodeFailure& e) {
    throw UserError(graph.file, e.pointer(), std::string(e.what()) + " (evaluating " + checkpoint + ")");
  }
  std::string json_file = args.value("json");
  // With the JSON on stdout, the lines go to stderr, so that stdout stays one JSON document.
  FILE* lines = json_file == "-" ? stderr : stdout;
  for (const auto& [node, outputs] : figures.items())
    for (const auto& [name, v] : outputs.items())
      std::fprintf(lines, "%s.%s %.6g\n", node.c_str(), name.c_str(), v.get<double>());
  nlohmann::ordered_json result{{"graph", graph.file},
                                {"checkpoint", checkpoint},
                                {"step", step},
                                {"samples", samples},
                                {"metrics", figures}};
  if (json_file.empty() && !run_dir.empty()) {
    char name[48];
    std::snprintf(name, sizeof name, "eval-step-%08lld.json", static_cast<long long>(step));
    json_file = (fs::path(run_dir) / name).string();
  }
  if (json_file == "-") {
    std::printf("%s\n", result.dump(2).c_str());
  } else if (!json_file.empty()) {
    write_text_atomically(json_file, result.dump(2) + "\n");
    std::fprintf(stderr, "wrote %s\n", json_file.c_str());
  }
  return 0;
}

/// The writer type whose files end in `ext` (".csv"), asked of each writer made with its
/// defaults; a UserError naming the extensions there are when none or several declare it.
std::string writer_for_extension(const PluginRegistry& registry, const std::string& ext,
                                 const std::string& out) {
  std::vector<std::string> matches, known;
  for (const auto& [name, t] : registry.types()) {
    if (t.contract.kind() != NodeKind::Writer) continue;
    NodeSetup setup;
    setup.name = name;
    try {
      setup.params = defaults_of(t.contract);
      const std::string e = samples_extension(*make_writer(t, setup));
      known.push_back(e + " (" + name + ")");
      if (e == ext) matches.push_back(name);
    } catch (const std::exception&) {
      // A writer with required params cannot be chosen by extension alone.
    }
  }
  if (matches.size() == 1) return matches.front();
  if (matches.empty())
    throw UserError("--out " + out + ": no loaded writer writes " + ext +
                    " files; writers: " + joined(known));
  throw UserError("--out " + out + ": several writers write " + ext + " files (" + joined(matches) +
                  "): choose one with --set outputs.samples.writer=TYPE");
}

int sample_command(const ParsedArgs& args) {
  namespace fs = std::filesystem;
  auto registry = load_plugins(args);
  const std::string& file = args.positional[0];
  // --from, --out's extension and --classes are --set overrides, so the loader checks them as it
  // checks the file. A graph of named grids is overridden in the grid --grid names (default: the
  // first).
  const nlohmann::json document = load_json_file(file);
  const nlohmann::json::json_pointer samples_field("/outputs/samples");
  const nlohmann::json declared_samples =
      document.contains(samples_field) ? document.at(samples_field) : nlohmann::json();
  const bool named_grids = declared_samples.is_object() && !declared_samples.empty() &&
                           !declared_samples.contains("from") && !declared_samples.contains("rows") &&
                           declared_samples.begin()->is_object();
  std::string grid_name = args.value("grid");
  if (named_grids && grid_name.empty()) grid_name = declared_samples.begin().key();
  if (!grid_name.empty() && !named_grids)
    throw UserError(file + ": --grid " + grid_name +
                    ": the graph's outputs.samples is one grid, not named grids");
  if (named_grids && !declared_samples.contains(grid_name)) {
    std::vector<std::string> names;
    for (const auto& [name, grid] : declared_samples.items()) names.push_back(name);
    throw UserError(file + ": --grid " + grid_name + ": no such grid" + did_you_mean(grid_name, names) +
                    "; the graph's grids: " + joined(names));
  }
  const std::string prefix = named_grids ? "outputs.samples." + grid_name : "outputs.samples";
  const nlohmann::json declared_grid = named_grids ? declared_samples[grid_name] : declared_samples;
  std::vector<std::string> overrides;
  if (args.has("from")) {
    if (declared_grid.is_object() && declared_grid.contains("rows"))
      overrides.push_back(prefix + ".rows=" + nlohmann::json::array({args.value("from")}).dump());
    else
      overrides.push_back(prefix + ".from=" + nlohmann::json(args.value("from")).dump());
  }
  // --seeds and --interpolate write a folder, whose name may have a dot ("psi0.7") but no writer.
  const bool out_is_folder = args.has("seeds") || args.has("interpolate");
  const std::string out_ext = out_is_folder ? "" : fs::path(args.value("out")).extension().string();
  if (!out_ext.empty()) {
    // The writer that declares --out's extension; the graph's writer params belong to the graph's
    // own writer, so another one starts from its defaults.
    const std::string writer = writer_for_extension(registry, out_ext, args.value("out"));
    const nlohmann::json declared = declared_grid.is_object() && declared_grid.contains("writer")
                                        ? declared_grid["writer"]
                                        : nlohmann::json();
    // A graph that names no writer gets the default one for its value's rank, which may be this.
    const bool default_fits = declared.is_null() && registry.find(writer)->contract.is_default_writer();
    if (declared != writer && !default_fits) {
      overrides.push_back(prefix + ".writer=" + nlohmann::json(writer).dump());
      overrides.push_back(prefix + ".params={}");
    }
  }
  // With --classes or --text the graph is loaded again below; its warnings are printed then.
  const bool chooses = args.has("classes") || args.has("text");
  Graph graph = graph_of(args, registry, overrides, !chooses);
  // The param each chooser's contract names: a class-label source's (noise/categorical's "pick"),
  // a caption source's (data/emoji-captions' "prompts").
  const auto choose = [&](const char* option, const std::string& value,
                          const std::string& (Contract::*param)() const, const char* what) {
    bool any = false;
    for (const auto& node : graph.nodes)
      if (!(node.contract().*param)().empty()) {
        overrides.push_back("nodes." + node.name + ".params." + (node.contract().*param)() + "=" +
                            nlohmann::json(value).dump());
        any = true;
      }
    if (!any) throw UserError(graph.file + ": --" + option + ": no node of this graph is " + what);
  };
  if (args.has("classes"))
    choose("classes", args.value("classes"), &Contract::classes_param_name,
           "a class-label source whose classes can be chosen (its contract names a classes_param, as "
           "noise/categorical's does)");
  if (args.has("text")) {
    std::string captions;
    for (const auto& caption : args.values("text")) {
      if (caption.find('|') != std::string::npos)
        throw UserError("--text \"" + caption +
                        "\": a caption may not hold |; give each caption its own --text");
      if (caption.find_first_not_of(" \t") == std::string::npos)
        throw UserError("--text: a caption is empty");
      captions += (captions.empty() ? "" : "|") + caption;
    }
    choose("text", captions, &Contract::text_param_name,
           "a caption source whose captions can be chosen (its contract names a text_param, as "
           "data/emoji-captions' does)");
  }
  if (chooses) graph = graph_of(args, registry, overrides);
  const SamplesSpec* grid = graph.find_samples(grid_name);
  if (!grid)
    throw UserError(graph.file + ": the graph writes no samples: say what to sample with --from NODE[.PORT]");
  const std::optional<long long> count = whole_number(args, "count", 1);
  // Options of the seed tools mean nothing to a plain draw: say so rather than ignore them.
  if (!wants_style_sampling(args))
    for (const char* option : {"truncation", "mix-columns", "mix-layers", "frames", "video", "fps", "space",
                               "sheet", "sheet-columns"})
      if (args.has(option))
        throw UserError(std::string("--") + option + " goes with --seeds, --style-mix or --interpolate");
  torch::set_num_threads(static_cast<int>(whole_number(args, "threads", 1).value_or(available_cores())));
  const auto [checkpoint, run_dir] = choose_checkpoint(args, graph);
  const std::string extension = samples_extension(*make_samples_writer(graph, *grid));
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::Device(resolve_device(args.value("device", "auto"))));
  executor.set_sample_with_ema(sample_with_ema(args));
  const std::int64_t step = read_checkpoint(checkpoint, executor);
  if (wants_style_sampling(args))
    return run_style_sampling(args, executor, graph, *grid, run_dir, step, registry);
#ifdef GANGLION_HAVE_MIDI
  if (wants_melody_sampling(args)) return run_melody_sampling(args, executor, graph, *grid, run_dir, step);
#else
  for (const char* option : {"bars", "chords", "midi-out", "midi-in", "tempo", "rounds", "midi-api"})
    if (args.has(option))
      throw UserError(std::string("--") + option +
                      ": this ganglion was built without libsmf (libsmf-dev), so "
                      "without sequence and MIDI sampling");
#endif
  torch::Tensor value;
  try {
    // Without --count, one batch with the noise of the run's own sample grids.
    value = sample_grid(executor, graph, *grid,
                        count ? std::optional<std::int64_t>(*count) : std::optional<std::int64_t>());
  } catch (const NodeFailure& e) {
    throw UserError(graph.file, e.pointer(), std::string(e.what()) + " (sampling " + checkpoint + ")");
  }
  std::string out = args.value("out");
  if (out.empty())
    out = (fs::path(run_dir.empty() ? "." : run_dir) / ("sample-" + grid->file_stem(step) + extension))
              .string();
  try {
    write_samples(graph, *grid, value, out);
  } catch (const NodeFailure& e) {
    throw UserError(out, "", e.what());
  }
  std::string what;
  for (const auto& r : grid->rows) what += (what.empty() ? "" : ", ") + graph.port_name(r);
  std::printf("wrote %s: %lld rows of %s at step %lld\n", out.c_str(),
              static_cast<long long>(value.dim() > 0 ? value.size(0) : 1), what.c_str(),
              static_cast<long long>(step));
  return 0;
}

int translate_command(const ParsedArgs& args) {
  auto registry = load_plugins(args);
  const Graph graph = graph_of(args, registry);
  if (graph.outputs.translate.empty())
    throw UserError(graph.file +
                    ": the graph declares no translator (outputs.translate names the node whose generator "
                    "translates, the reader of each file and the writer; see docs/image-to-image.md)");
  // --direction names one of several translators; without it the graph must have just one.
  const std::string direction = args.value("direction");
  std::vector<std::string> names;
  for (const auto& t : graph.outputs.translate) names.push_back(t.name.empty() ? "one unnamed" : t.name);
  const TranslateSpec* spec = nullptr;
  if (!direction.empty()) {
    for (const auto& t : graph.outputs.translate)
      if (t.name == direction) spec = &t;
    if (!spec)
      throw UserError("--direction " + direction + ": " + graph.file + " translates " + joined(names));
  } else if (graph.outputs.translate.size() == 1) {
    spec = &graph.outputs.translate.front();
  } else {
    throw UserError(graph.file + " translates in several directions (" + joined(names) +
                    "): choose one with --direction");
  }
  torch::set_num_threads(static_cast<int>(whole_number(args, "threads", 1).value_or(available_cores())));
  const auto [checkpoint, run_dir] = choose_checkpoint(args, graph);
  const Plan plan = make_plan(graph);
  Executor executor(graph, plan, torch::Device(resolve_device(args.value("device", "auto"))));
  executor.set_sample_with_ema(sample_with_ema(args));
  const std::int64_t step = read_checkpoint(checkpoint, executor);
  try {
    return run_translation(args, executor, graph, *spec, step);
  } catch (const NodeFailure& e) {
    throw UserError(graph.file, e.pointer(),
                    std::string(e.what()) + " (translating with " + checkpoint + ")");
  }
}

int validate_command(const ParsedArgs& args) {
  auto registry = load_plugins(args);
  const Graph graph = graph_of(args, registry);
  std::printf("%s: valid (%zu modules, %zu nodes, %zu phases)\n", graph.file.c_str(), graph.modules.size(),
              graph.nodes.size(), graph.phases.size());
  return 0;
}

int plan_command(const ParsedArgs& args) {
  auto registry = load_plugins(args);
  const Graph graph = graph_of(args, registry);
  std::printf("%s", describe_plan(graph, make_plan(graph)).c_str());
  return 0;
}

int plugins_command(const ParsedArgs& args) {
  auto registry = load_plugins(args, true);
  if (args.has("json")) {
    nlohmann::json out{{"types", nlohmann::json::array()}, {"skipped", nlohmann::json::array()}};
    for (const auto& [name, t] : registry.types())
      out["types"].push_back({{"type", name},
                              {"kind", to_string(t.contract.kind())},
                              {"doc", t.contract.description()},
                              {"plugin", t.plugin},
                              {"version", t.plugin_version},
                              {"file", t.file}});
    for (const auto& s : registry.skipped())
      out["skipped"].push_back({{"file", s.file}, {"reason", s.reason}});
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  for (const auto& [name, t] : registry.types())
    std::printf("%-28s %-9s %s (plugin %s %s)\n", name.c_str(), to_string(t.contract.kind()),
                t.contract.description().c_str(), t.plugin.c_str(), t.plugin_version.c_str());
  for (const auto& s : registry.skipped()) std::printf("skipped %s: %s\n", s.file.c_str(), s.reason.c_str());
  return 0;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int dot_command(const ParsedArgs& args) {
  auto registry = load_plugins(args);
  const Graph graph = graph_of(args, registry);
  const std::string dot = graph_to_dot(graph, make_plan(graph));
  if (!args.has("render")) {
    std::printf("%s", dot.c_str());
    return 0;
  }
  const std::string target = args.value("render");
  const std::string format = std::filesystem::path(target).extension().string();
  if (format != ".svg" && format != ".png" && format != ".pdf")
    throw UserError("--render " + target + ": name a .svg, .png or .pdf file");
  if (std::system("command -v dot > /dev/null 2>&1") != 0)
    throw UserError(
        "--render needs Graphviz's dot, which is not installed: apt-get install graphviz "
        "(scripts/setup.sh installs it)");
  const std::string dot_file = target + ".dot.tmp";
  write_text_atomically(dot_file, dot);
  write_atomically(target, [&](const std::string& tmp) {
    const std::string command =
        "dot -T" + format.substr(1) + " -o " + shell_quote(tmp) + " " + shell_quote(dot_file);
    const int status = std::system(command.c_str());
    if (status != 0 || !std::filesystem::exists(tmp))
      throw UserError(target, "",
                      "Graphviz's dot failed to draw the graph (exit status " +
                          std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  });
  std::filesystem::remove(dot_file);
  std::printf("wrote %s\n", target.c_str());
  return 0;
}

int edit_command(const ParsedArgs& args) {
  auto registry = load_plugins(args);
  const std::string& file = args.positional[0];
  if (args.positional.size() < 2) return run_edit_prompt(file, registry);
  edit_file(file, {args.positional.begin() + 1, args.positional.end()}, registry, args.has("force"));
  return 0;
}

int schema_command(const ParsedArgs& args) {
  auto registry = load_plugins(args);
  std::printf("%s\n", graph_schema(registry).dump(2).c_str());
  return 0;
}

std::string value_text(const ParamValue& v) {
  struct {
    std::string operator()(std::monostate) const { return "(required)"; }
    std::string operator()(std::int64_t x) const { return std::to_string(x); }
    std::string operator()(double x) const { return nlohmann::json(x).dump(); }
    std::string operator()(bool x) const { return x ? "true" : "false"; }
    std::string operator()(const std::string& x) const { return nlohmann::json(x).dump(); }
  } visit;
  return std::visit(visit, v);
}

int inspect_command(const ParsedArgs& args) {
  auto registry = load_plugins(args);
  const std::string& name = args.positional[0];
  const RegisteredType* t = registry.find(name);
  if (!t)
    throw UserError("no node type \"" + name + "\"" + did_you_mean(name, registry.type_names()) +
                    " (`ganglion plugins` lists them)");
  const Contract& c = t->contract;
  std::ostringstream out;
  out << c.type() << "\n  " << c.description() << "\n\n";
  out << "kind:     " << to_string(c.kind()) << (c.is_second_order() ? " (differentiates its inputs)" : "")
      << "\n";
  if (c.kind() == NodeKind::Layer) out << "family:   " << c.layer_family() << "\n";
  std::string roles;
  const auto role = [&](bool has, const std::string& what) {
    if (has) roles += (roles.empty() ? "" : ", ") + what;
  };
  role(c.counts_rows_as_data(), "its rows are data (images/s, images seen)");
  role(c.is_metric(), "a metric (evaluations run it)");
  role(c.is_default_writer(), "the default writer for its input's rank");
  role(!c.classes_param_name().empty(), "--classes sets its param " + c.classes_param_name());
  role(!c.text_param_name().empty(), "sample --text sets its param " + c.text_param_name());
  if (!roles.empty()) out << "roles:    " << roles << "\n";
  out << "plugin:   " << t->plugin << " " << t->plugin_version << "\n";
  out << "file:     " << t->file << "\n\n";
  auto ports = [&](const char* title, const std::vector<PortSpec>& list) {
    out << title << ":\n";
    if (list.empty()) out << "  (none)\n";
    for (const auto& p : list)
      out << "  " << p.name << (p.group ? ".NAME" : "") << "  " << to_string(p.dtype) << " ["
          << (p.shape.empty() ? "scalar" : p.shape) << "]"
          << (p.group ? " group of any number" +
                            (p.min_count > 0 ? std::string(", at least ") + std::to_string(p.min_count) : "")
              : p.optional ? " optional"
                           : "")
          << "  " << p.doc << "\n";
  };
  ports("inputs", c.inputs());
  ports("outputs", c.outputs());
  out << "params:\n";
  if (c.params().empty()) out << "  (none)\n";
  for (const auto& p : c.params()) {
    out << "  " << p.name << (p.input_group.empty() ? "" : ".NAME (one per input " + p.input_group + ".NAME)")
        << "  " << to_string(p.type)
        << (p.type == ParamType::Layer ? " (family " + p.family + ")" : std::string()) << " = "
        << value_text(p.default_value);
    const auto bound = [&](const std::optional<double>& b, const char* none) {
      if (!b) return std::string(none);
      return p.type == ParamType::Int ? std::to_string(static_cast<long long>(*b))
                                      : nlohmann::json(*b).dump();
    };
    if (p.min || p.max) out << "  range " << bound(p.min, "-inf") << ".." << bound(p.max, "inf");
    out << "\n      " << p.doc << "\n";
  }
  std::printf("%s", out.str().c_str());
  return 0;
}

}  // namespace

std::vector<CommandSpec> commands() {
  std::vector<CommandSpec> all = {
      {"run",
       "GRAPH",
       "Train a graph: writes graph.json, log.jsonl, samples/ and checkpoints/ into the run directory.",
       "SIGINT or SIGTERM, or reaching --time-limit, finishes the current step, writes a checkpoint and "
       "exits 0; "
       "--resume continues it.",
       {{"out", "DIR", "run directory (default: runs/<graph name>)"},
        {"steps", "N", "train until iteration N (default: the graph's \"steps\")"},
        {"time-limit", "TIME",
         "stop after this much training time (900, 90s, 15m, 1h30m), as on SIGTERM; each resumed run gets "
         "its own"},
        {"resume", "", "continue from the newest checkpoint in the run directory"},
        kDevice,
        kThreads,
        {"log-format", "F", "text (a progress bar on a terminal, else lines) or jsonl (on stdout)"},
        kSet,
        kInclude,
        kPluginPath,
        kHelp},
       1,
       1,
       run_command},
      {"eval",
       "GRAPH",
       "Score a trained graph: run its metric nodes on a large draw of samples; a line each, and JSON.",
       "The metrics are the graph's nodes of a metrics/ type (or those --metrics names); each input is drawn "
       "--samples rows deep as samples are (EMA weights, eval mode, fresh noise per batch). The JSON goes to "
       "--json FILE (- for stdout), by default eval-step-N.json in the run directory.",
       {kCheckpoint,
        {"metrics", "A,B", "metric nodes to run (default: every node of a metrics/ type)"},
        {"samples", "N", "rows drawn for each metric input (default: outputs.eval.samples, else 2500)"},
        {"json", "FILE", "where the figures go as JSON (- for stdout)"},
        kWeights,
        kDevice,
        kThreads,
        kSet,
        kInclude,
        kPluginPath,
        kHelp},
       1,
       1,
       eval_command},
      {"sample",
       "GRAPH",
       "Draw samples from a trained graph into a file (a PNG grid by default); --classes asks for given "
       "classes, --text for given captions.",
       "Samples come as during training (EMA weights, eval mode): by default one batch with the noise of "
       "the run's sample grids, or --count rows with fresh noise per batch. --from picks another output; "
       "--set seed=N other noise; --set outputs.samples.params.columns=10 the grid's width.",
       {kCheckpoint,
        {"from", "REF", "the output to sample, NODE or NODE.PORT (default: outputs.samples.from)"},
        {"grid", "NAME", "which of the graph's named samples grids (default: the first by name)"},
        {"classes", "LIST",
         "ask for these classes, e.g. 3 or 0,1,2 (row i of each batch gets the (i mod n)-th): sets the "
         "classes param of every class-label source (noise/categorical's pick)"},
        {"text", "CAPTION",
         "draw for this caption, e.g. \"red heart\" (row i of each batch gets the (i mod n)-th of the "
         "captions "
         "given): sets the text param of every caption source (data/emoji-captions' prompts); words its "
         "vocabulary lacks become its unknown token",
         true},
        {"count", "N", "rows to draw (default: one batch)"},
        {"seeds", "LIST",
         "one image per seed, e.g. 0-99 or 1,5,7: the same image for a seed every time (its code is N(0, 1) "
         "from a generator seeded with it), written as seedNNNN.png into --out (a folder; default "
         "seeds-step-N in the run directory)"},
        {"truncation", "PSI",
         "pull each style towards the mean style: w_avg + PSI (w - w_avg), 0 to 2 (default 1: none); for a "
         "generator that declares a mapping/synthesis split"},
        {"style-mix", "SEEDS",
         "a style-mixing grid: a row per seed, each cell the row's styles with the column's in --mix-layers; "
         "--out is the grid's file (default style-mix-step-N.png)"},
        {"mix-columns", "SEEDS", "the seeds whose styles the grid's columns give (with --style-mix)"},
        {"mix-layers", "LAYERS",
         "style layers the columns give: coarse (0-3: 4x4, 8x8), middle (4-7: 16, 32), fine (8 on) or A-B, "
         "comma-separated (default middle,fine: rows keep their coarse styles)"},
        {"interpolate", "SEEDS",
         "interpolation frames through these seeds in order, frameNNNN.png into --out (a folder; default "
         "interpolation-step-N); one seed with two --text captions or more: frames from caption to caption "
         "with that seed's noise"},
        {"frames", "N", "frames from one seed to the next (default 30)"},
        {"video", "FILE",
         "with --interpolate, the frames as a Motion-JPEG AVI too (default: beside the frames' folder, "
         "FOLDER.avi, where the images plugin has io/video; none: frames only)"},
        {"fps", "N", "the video's frames per second (default 30)"},
        {"space", "S", "w (linear in the styles, default) or z (spherical in the codes)"},
        {"sheet", "FILE",
         "with --seeds or --interpolate, all the images in one grid file too, in order (a truncation sweep's "
         "row, an interpolation strip)"},
        {"sheet-columns", "N", "images per row of the --sheet (default: all in one row)"},
        {"bars", "N",
         "steps of a sequence grid (outputs.samples' \"sequence\", MidiNet's melody): bars, each conditioned "
         "on the one generated before (default: the grid's steps)"},
        {"chords", "LIST",
         "the chord of each bar, cycling, e.g. C,G,Am,F (- for none): sets every source output \"chord\" of "
         "13 "
         "numbers (midi/bars')"},
        {"midi-out", "PORT",
         "play each bar of the batch's first row to this MIDI output port as it is generated (`ganglion midi "
         "ports` lists them; a unique part of the name will do)"},
        {"midi-in", "PORT",
         "wait for a bar played on this MIDI input port (from its first note, at --tempo) and answer it: the "
         "played bar is the first bar's previous bar; needs --midi-out"},
        {"tempo", "BPM", "with --midi-out and --midi-in, quarter notes per minute (default 120)"},
        {"rounds", "N", "with --midi-in, bars to answer one after another (default 1; 0: until Ctrl-C)"},
        kMidiApi,
        {"out", "FILE", "where to write (default: sample-step-N.png in the run directory)"},
        kWeights,
        kDevice,
        kThreads,
        kSet,
        kInclude,
        kPluginPath,
        kHelp},
       1,
       1,
       sample_command},
      {"translate",
       "GRAPH",
       "Apply a trained translator (pix2pix, CycleGAN, SPADE) to your own files: one output per input, same "
       "names.",
       "The graph's outputs.translate says which generator translates, how each file is read (resized to the "
       "size the net takes, or cut into tiles) and how the result is written. A file that cannot be read or "
       "translated is named on stderr and skipped; the others are still written, and the exit code is then "
       "2.",
       {kCheckpoint,
        {"input", "FILE_OR_DIR", "an image, or a folder whose files (sub-folders too) are translated"},
        {"out", "DIR", "the folder the translations go into, under the inputs' relative names"},
        {"direction", "NAME",
         "which of the graph's translators (a2b or b2a in a CycleGAN graph; default: the only one)"},
        kWeights,
        kDevice,
        kThreads,
        kSet,
        kInclude,
        kPluginPath,
        kHelp},
       1,
       1,
       translate_command},
      {"validate",
       "GRAPH",
       "Check a graph file against the loaded plugins' contracts; report every problem with its JSON path.",
       "",
       {kSet, kInclude, kPluginPath, kHelp},
       1,
       1,
       validate_command},
      {"plan",
       "GRAPH",
       "Print what each training phase will run: nodes in order, reuse, frozen modules, second derivatives.",
       "",
       {kSet, kInclude, kPluginPath, kHelp},
       1,
       1,
       plan_command},
      {"plugins",
       "",
       "List every loaded node type, one a line, and every plugin that was skipped, with the reason.",
       "",
       {{"json", "", "print the types and skipped plugins as JSON, for programs"}, kPluginPath, kHelp},
       0,
       0,
       plugins_command},
      {"dot",
       "GRAPH",
       "Draw a graph in Graphviz DOT: a cluster per phase, nodes grouped by module, frozen modules dashed.",
       "Prints DOT on stdout, or with --render draws it with Graphviz's dot into an .svg, .png or .pdf file.",
       {{"render", "FILE", "draw into FILE (.svg, .png or .pdf) with Graphviz's dot"},
        kSet,
        kInclude,
        kPluginPath,
        kHelp},
       1,
       1,
       dot_command},
      {"edit",
       "FILE [VERB ARGS...]",
       "Change a graph file one verb at a time; every edit is validated, and refused if it would break the "
       "graph.",
       edit_verbs_help() +
           "Without a VERB, a prompt reads verbs line by line (history and Tab completion of verbs, node "
           "types, "
           "names, ports and params on a terminal; also show, validate, help, quit).\n"
           "The file is rewritten atomically with two-space indentation and its keys in their order, so a "
           "diff shows only the edit.",
       {{"force", "", "create: replace an existing file; remove: also cut what depends on the removed entry"},
        kPluginPath,
        kHelp},
       1,
       1000,
       edit_command},
      {"schema",
       "",
       "Print a JSON Schema of graph files, generated from the loaded plugins' contracts.",
       "Editors such as VS Code validate and complete graph files with it; graphs/ganglion.schema.json is "
       "its "
       "output for the built-in plugins.",
       {kPluginPath, kHelp},
       0,
       0,
       schema_command},
      {"inspect",
       "TYPE",
       "Describe a node type: its plugin, ports (dtype, shape) and params (type, default, range, doc).",
       "",
       {kPluginPath, kHelp},
       1,
       1,
       inspect_command},
  };
#ifdef GANGLION_HAVE_MIDI
  all.push_back(
      {"midi",
       "ports",
       "List the MIDI input and output ports (through RtMidi: ALSA's sequencer, else a JACK server).",
       "`ganglion play` and `ganglion sample --midi-out/--midi-in` take these names, or a unique part of "
       "one. "
       "With no sound card, `jackd -d dummy` (Debian's jackd1) gives MIDI ports.",
       {kMidiApi, kHelp},
       1,
       1,
       midi_command});
  all.push_back(
      {"play",
       "FILE.mid",
       "Play a Standard MIDI File to a MIDI output port in real time.",
       "Every track, with the file's tempo changes; Ctrl-C stops and silences every note. A damaged file is "
       "refused with the byte where it breaks.",
       {{"port", "NAME", "the MIDI output port (`ganglion midi ports`; a unique part of the name will do)"},
        {"speed", "X", "play X times as fast (default 1)"},
        kMidiApi,
        kHelp},
       1,
       1,
       play_command});
#endif
  return all;
}

}  // namespace ganglion::cli
