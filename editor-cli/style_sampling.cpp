#include "style_sampling.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>

#include <ganglion/plugin.h>
#include "ganglion/engine/atomic_file.h"
#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/trainer.h"
#include "ganglion/engine/user_error.h"

namespace fs = std::filesystem;

namespace ganglion::cli {

namespace {

constexpr std::int64_t kChunk = 16;  // codes per generator call: bounded memory for any count

std::string padded(std::uint64_t n) {
  char text[32];
  std::snprintf(text, sizeof text, "%04llu", static_cast<unsigned long long>(n));
  return text;
}

/// The generator node the samples grid's output comes from, and how to drive it.
class StyleGenerator {
 public:
  StyleGenerator(Executor& executor, const Graph& graph, const SamplesSpec& grid)
      : executor_(executor), graph_(graph), output_(grid.rows.front()) {
    const NodeEntry& n = graph.nodes.at(output_.node);
    const std::string what = "\"" + graph.port_name(output_) + "\"";
    if (n.module < 0)
      throw UserError(graph.file, grid.pointer,
                      what +
                          " is not an output of a module node, so no generator can be fed chosen codes: "
                          "sample a generator's output with --from NODE.PORT");
    node_ = output_.node;
    module_ = n.module;
    split_ = n.contract().style_split();
    if (split_.declared()) {
      z_port_ = split_.z_port;
    } else {
      for (const auto& spec : n.contract().inputs())
        if (!spec.optional) {
          if (!z_port_.empty())
            throw UserError(graph.file, n.pointer,
                            "--seeds: " + n.contract().type() + " takes several inputs (" + z_port_ + ", " +
                                spec.name + ") and declares no style_split naming its code input");
          z_port_ = spec.name;
        }
    }
    const auto z_in = n.inputs.find(z_port_);
    if (z_in == n.inputs.end())
      throw UserError(graph.file, n.pointer,
                      "node \"" + n.name + "\" has no input " + z_port_ + " connected");
    // The code's width and the node's other inputs (labels, say) from the run's own sample draw.
    std::vector<PortRef> refs{z_in->second};
    for (const auto& [port, ref] : n.inputs)
      if (port != z_port_ && port != split_.w_port) {
        other_ports_.push_back(port);
        refs.push_back(ref);
      }
    auto values = executor.sample(refs);
    if (values[0].dim() != 2)
      throw UserError(graph.file, n.pointer,
                      "input " + z_port_ + " of node \"" + n.name + "\" is " + c10::str(values[0].sizes()) +
                          ", not one code per row [B, Z]");
    z_dim_ = values[0].size(1);
    for (size_t i = 1; i < values.size(); ++i) others_.push_back(values[i]);
  }

  const Contract::StyleSplit& split() const { return split_; }
  std::string type() const { return graph_.nodes[node_].contract().type(); }

  /// Throws UserError for a tool that needs the mapping/synthesis split when the net has none.
  void require_split(const std::string& option) const {
    if (!split_.declared())
      throw UserError(graph_.file, graph_.nodes[node_].pointer,
                      option +
                          " needs a generator whose contract declares a mapping/synthesis split "
                          "(style_split, as nets/stylegan2-generator's); " +
                          type() + " declares none");
  }

  /// The code of `seed`: N(0, 1) from a generator seeded with it, so a seed is one code always.
  torch::Tensor code(std::uint64_t seed) const {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::randn({1, z_dim_}, gen);
  }
  torch::Tensor codes(const std::vector<std::uint64_t>& seeds) const {
    std::vector<torch::Tensor> parts;
    for (auto s : seeds) parts.push_back(code(s));
    return torch::cat(parts);
  }

  /// The generator on codes z (and styles ws, when given): its image and its styles.
  std::pair<torch::Tensor, torch::Tensor> run(const torch::Tensor& z, const torch::Tensor& ws = {}) {
    std::vector<torch::Tensor> images, styles;
    const auto device = executor_.device();
    for (std::int64_t start = 0; start < z.size(0); start += kChunk) {
      const std::int64_t count = std::min(kChunk, z.size(0) - start);
      TensorMap in{{z_port_, z.narrow(0, start, count).to(device)}};
      if (ws.defined()) in[split_.w_port] = ws.narrow(0, start, count).to(device);
      for (size_t i = 0; i < other_ports_.size(); ++i) {
        const auto rows = torch::arange(start, start + count, torch::kLong).remainder(others_[i].size(0));
        in[other_ports_[i]] = others_[i].index_select(0, rows.to(others_[i].device()));
      }
      TensorMap out;
      try {
        out = executor_.apply_module(node_, in);
      } catch (const NodeFailure& e) {
        throw UserError(graph_.file, e.pointer(), e.what());
      }
      images.push_back(out.at(output_.port).cpu());
      if (split_.declared()) styles.push_back(out.at(split_.w_port).cpu());
    }
    return {torch::cat(images), styles.empty() ? torch::Tensor() : torch::cat(styles)};
  }

  /// Makes the node's other inputs (a caption's embedding) frames between their rows: `frames`
  /// from row k to row k + 1 for k < keys - 1, then row keys - 1 (the rows of the run's sample
  /// draw, row i from the i-th caption given to --text). Integer inputs (labels) are refused.
  void interpolate_other_inputs(std::int64_t keys, std::int64_t frames) {
    for (size_t i = 0; i < others_.size(); ++i) {
      const auto& rows = others_[i];
      if (!rows.is_floating_point())
        throw UserError(graph_.file, graph_.nodes[node_].pointer,
                        "--interpolate between captions: input " + other_ports_[i] + " of node \"" +
                            graph_.nodes[node_].name + "\" is " +
                            std::string(c10::toString(rows.scalar_type())) +
                            ", which cannot be interpolated");
      if (rows.size(0) < keys)
        throw UserError(graph_.file, graph_.nodes[node_].pointer,
                        "--interpolate between captions: the sample draw has " +
                            std::to_string(rows.size(0)) + " rows, fewer than the " + std::to_string(keys) +
                            " captions");
      std::vector<torch::Tensor> out;
      for (std::int64_t k = 0; k + 1 < keys; ++k)
        for (std::int64_t f = 0; f < frames; ++f)
          out.push_back(rows.narrow(0, k, 1).lerp(rows.narrow(0, k + 1, 1),
                                                  static_cast<double>(f) / static_cast<double>(frames)));
      out.push_back(rows.narrow(0, keys - 1, 1));
      others_[i] = torch::cat(out);
    }
  }

  /// The styles of codes z, pulled towards the mean style by psi (1: as mapped).
  torch::Tensor styles(const torch::Tensor& z, double psi) {
    auto ws = run(z).second;
    if (psi == 1.0) return ws;
    const auto buffers = executor_.sampling_module(module_).named_buffers();
    const torch::Tensor* w_avg = buffers.find(split_.w_avg_buffer);
    if (!w_avg)
      throw UserError(
          graph_.file, graph_.nodes[node_].pointer,
          type() + " declares its mean style as buffer \"" + split_.w_avg_buffer + "\" but has none");
    return w_avg->cpu().lerp(ws, psi);
  }

 private:
  Executor& executor_;
  const Graph& graph_;
  PortRef output_;
  int node_ = -1, module_ = -1;
  Contract::StyleSplit split_;
  std::string z_port_;
  std::int64_t z_dim_ = 0;
  std::vector<std::string> other_ports_;
  std::vector<torch::Tensor> others_;
};

/// Spherical interpolation between codes a and b ([1, Z]) at t, along the great circle of their
/// directions, lengths interpolated linearly (the Z path of StyleGAN's interpolation videos).
torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  const auto an = a / a.norm(), bn = b / b.norm();
  const double omega = std::acos(std::clamp((an * bn).sum().item<double>(), -1.0, 1.0));
  if (omega < 1e-6) return a + (b - a) * t;
  const auto direction = (an * std::sin((1 - t) * omega) + bn * std::sin(t * omega)) / std::sin(omega);
  const double length = (1 - t) * a.norm().item<double>() + t * b.norm().item<double>();
  return direction * length;
}

std::string prepare_folder(const std::string& folder) {
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec || !fs::is_directory(folder))
    throw UserError(folder, "",
                    "cannot make the output folder: " + (ec ? ec.message() : "a file is in the way"));
  return folder;
}

/// Writes `frames` ([T, C, H, W]) as a video through the `io/video` writer at `fps`.
void write_video(const RegisteredType& type, const at::Tensor& frames, std::int64_t fps,
                 const std::string& path) {
  NodeSetup setup;
  for (const auto& spec : type.contract.params()) setup.params.set(spec.name, spec.default_value);
  setup.params.set("fps", fps);
  setup.name = "io/video";
  const auto writer = make_writer(type, setup);
  write_atomically(path, [&](const std::string& tmp) {
    try {
      writer->write(frames, tmp);
    } catch (const std::exception& e) {
      throw UserError(path, "", std::string("io/video failed: ") + e.what());
    }
  });
}

}  // namespace

bool wants_style_sampling(const ParsedArgs& args) {
  return args.has("seeds") || args.has("style-mix") || args.has("interpolate");
}

std::vector<std::uint64_t> parse_number_list(const std::string& text, const std::string& option) {
  std::vector<std::uint64_t> out;
  const auto fail = [&] {
    throw UserError("--" + option + " " + text +
                    ": expected whole numbers and ranges, e.g. 0-99 or 1,5,10-12");
  };
  size_t start = 0;
  if (text.empty()) fail();
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t dash = item.find('-');
    try {
      const std::string first = item.substr(0, dash);
      if (first.empty() || first.find_first_not_of("0123456789") != std::string::npos) fail();
      const std::uint64_t low = std::stoull(first);
      std::uint64_t high = low;
      if (dash != std::string::npos) {
        const std::string last = item.substr(dash + 1);
        if (last.empty() || last.find_first_not_of("0123456789") != std::string::npos) fail();
        high = std::stoull(last);
      }
      if (high < low || high - low > 100000) fail();
      for (std::uint64_t v = low; v <= high; ++v) out.push_back(v);
    } catch (const std::out_of_range&) {
      fail();
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::set<std::int64_t> parse_style_layers(const std::string& text, std::int64_t layers) {
  std::set<std::int64_t> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::int64_t low = 0, high = -1;
    if (item == "coarse") {
      low = 0, high = 3;
    } else if (item == "middle") {
      low = 4, high = 7;
    } else if (item == "fine") {
      low = 8, high = layers - 1;
    } else {
      for (auto v : parse_number_list(item, "mix-layers")) {
        if (static_cast<std::int64_t>(v) >= layers)
          throw UserError("--mix-layers " + text + ": layer " + std::to_string(v) +
                          " is past the generator's " + std::to_string(layers) + " style layers (0 to " +
                          std::to_string(layers - 1) + ")");
        out.insert(static_cast<std::int64_t>(v));
      }
    }
    for (std::int64_t v = low; v <= std::min(high, layers - 1); ++v) out.insert(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.empty())
    throw UserError("--mix-layers " + text + ": names no layer of the generator's " + std::to_string(layers) +
                    " (coarse 0-3, middle 4-7, fine 8-" + std::to_string(layers - 1) + ", or A-B)");
  return out;
}

at::Tensor mix_styles(const at::Tensor& w_rows, const at::Tensor& w_columns,
                      const std::set<std::int64_t>& layers) {
  std::vector<torch::Tensor> cells;
  for (std::int64_t r = 0; r < w_rows.size(0); ++r)
    for (std::int64_t c = 0; c < w_columns.size(0); ++c) {
      auto w = w_rows[r].clone();
      for (auto layer : layers) w[layer] = w_columns[c][layer];
      cells.push_back(w.unsqueeze(0));
    }
  return torch::cat(cells);
}

/// With --sheet FILE: `images` in one grid of --sheet-columns a row (default: one row), through the
/// samples writer.
void write_sheet(const ParsedArgs& args, const Graph& graph, const SamplesSpec& grid,
                 const at::Tensor& images) {
  if (!args.has("sheet")) return;
  SamplesSpec spec = grid;
  const std::string& length_param = spec.writer->contract.row_length_param_name();
  if (!length_param.empty()) {
    spec.writer_params.set(length_param, whole_option(args, "sheet-columns", images.size(0), 1, 100000));
    spec.row_length_given = true;
  }
  write_samples(graph, spec, images, args.value("sheet"));
  std::printf("wrote %s (%lld images)\n", args.value("sheet").c_str(),
              static_cast<long long>(images.size(0)));
}

int run_style_sampling(const ParsedArgs& args, Executor& executor, const Graph& graph,
                       const SamplesSpec& grid, const std::string& run_dir, std::int64_t step,
                       const PluginRegistry& registry) {
  const int tools = args.has("seeds") + args.has("style-mix") + args.has("interpolate");
  if (tools > 1)
    throw UserError("--seeds, --style-mix and --interpolate each make their own files: give one");
  if (args.has("count")) throw UserError("--count draws fresh noise; with chosen seeds, leave it out");
  if ((args.has("sheet") || args.has("sheet-columns")) && args.has("style-mix"))
    throw UserError("--style-mix writes one grid already (--out): --sheet is for --seeds and --interpolate");
  if (args.has("sheet-columns") && !args.has("sheet"))
    throw UserError("--sheet-columns sets the rows of a --sheet FILE: give --sheet too");
  whole_option(args, "sheet-columns", 1, 1, 100000);  // refused before any file is written
  StyleGenerator generator(executor, graph, grid);
  const double psi = number_option(args, "truncation", 1.0, 0.0, 2.0);
  if (psi != 1.0) generator.require_split("--truncation");
  const std::string extension = samples_extension(*make_samples_writer(graph, grid));
  const fs::path base = run_dir.empty() ? fs::path(".") : fs::path(run_dir);
  const std::string suffix = "-step-" + std::to_string(step);

  if (args.has("seeds")) {
    const auto seeds = parse_number_list(args.value("seeds"), "seeds");
    const std::string folder = prepare_folder(args.value("out", (base / ("seeds" + suffix)).string()));
    const auto z = generator.codes(seeds);
    const auto images =
        psi == 1.0 ? generator.run(z).first : generator.run(z, generator.styles(z, psi)).first;
    for (size_t i = 0; i < seeds.size(); ++i)
      write_samples(graph, grid, images.narrow(0, static_cast<std::int64_t>(i), 1),
                    (fs::path(folder) / ("seed" + padded(seeds[i]) + extension)).string());
    std::printf("wrote %zu images into %s (seeds %s, truncation %g) at step %lld\n", seeds.size(),
                folder.c_str(), args.value("seeds").c_str(), psi, static_cast<long long>(step));
    write_sheet(args, graph, grid, images);
    return 0;
  }

  // Frames between captions move the condition, not the style: no split needed.
  const auto interpolated = args.has("interpolate")
                                ? parse_number_list(args.value("interpolate"), "interpolate")
                                : std::vector<std::uint64_t>{};
  const bool between_captions =
      interpolated.size() == 1 && args.has("text") && args.values("text").size() >= 2;
  if (args.has("interpolate") && interpolated.size() < 2 && !between_captions)
    throw UserError("--interpolate " + args.value("interpolate") +
                    ": give two seeds or more, or one seed and two --text captions or more");
  if (!between_captions) generator.require_split(args.has("style-mix") ? "--style-mix" : "--interpolate");
  if (args.has("style-mix")) {
    if (!args.has("mix-columns"))
      throw UserError("--style-mix ROWS needs --mix-columns SEEDS, the styles' sources");
    const auto rows = parse_number_list(args.value("style-mix"), "style-mix");
    const auto columns = parse_number_list(args.value("mix-columns"), "mix-columns");
    const auto z_rows = generator.codes(rows), z_columns = generator.codes(columns);
    const auto w_rows = generator.styles(z_rows, psi), w_columns = generator.styles(z_columns, psi);
    const auto layers = parse_style_layers(args.value("mix-layers", "middle,fine"), w_rows.size(1));
    const auto mixed = generator
                           .run(z_rows.repeat_interleave(static_cast<std::int64_t>(columns.size()), 0),
                                mix_styles(w_rows, w_columns, layers))
                           .first;
    const auto row_images = generator.run(z_rows, w_rows).first;
    const auto column_images = generator.run(z_columns, w_columns).first;
    // The grid: a blank corner, the columns' images along the top, each row's image on the left.
    std::vector<torch::Tensor> grid_images{torch::ones_like(row_images.narrow(0, 0, 1)), column_images};
    for (size_t r = 0; r < rows.size(); ++r) {
      grid_images.push_back(row_images.narrow(0, static_cast<std::int64_t>(r), 1));
      grid_images.push_back(mixed.narrow(0, static_cast<std::int64_t>(r * columns.size()),
                                         static_cast<std::int64_t>(columns.size())));
    }
    SamplesSpec spec = grid;
    const std::string& length_param = spec.writer->contract.row_length_param_name();
    if (!length_param.empty()) {
      spec.writer_params.set(length_param, static_cast<std::int64_t>(columns.size() + 1));
      spec.row_length_given = true;
    }
    const std::string out = args.value("out", (base / ("style-mix" + suffix + extension)).string());
    write_samples(graph, spec, torch::cat(grid_images), out);
    std::string named;
    for (auto l : layers) named += (named.empty() ? "" : ",") + std::to_string(l);
    std::printf("wrote %s: %zu rows x %zu columns, style layers %s from the columns (of %lld) at step %lld\n",
                out.c_str(), rows.size(), columns.size(), named.c_str(),
                static_cast<long long>(w_rows.size(1)), static_cast<long long>(step));
    return 0;
  }

  // --interpolate: frames between consecutive seeds, linear in W or spherical in Z; or with one
  // seed and several --text captions, frames between the captions' embeddings with that seed's
  // noise (Reed et al.'s interpolations).
  // The seeds were parsed and checked above, before the style split was asked for.
  const auto& seeds = interpolated;
  const auto captions = static_cast<std::int64_t>(between_captions ? args.values("text").size() : 0);
  const auto frames = whole_option(args, "frames", 30, 1, 10000);
  const auto fps = whole_option(args, "fps", 30, 1, 240);
  // The video beside the frames where the images plugin has io/video (OpenCV's videoio).
  const RegisteredType* video = registry.find("io/video");
  const std::string video_option = args.value("video");
  if (!video && !video_option.empty() && video_option != "none")
    throw UserError("--video " + video_option +
                    ": this build has no io/video writer (the images plugin needs OpenCV's videoio: install "
                    "libopencv-videoio-dev and rebuild), or give --video none");
  // The frames, their sheet and their video, for either kind.
  const auto finish = [&](const torch::Tensor& images, const std::string& what) {
    const std::string folder =
        prepare_folder(args.value("out", (base / ("interpolation" + suffix)).string()));
    for (std::int64_t i = 0; i < images.size(0); ++i)
      write_samples(
          graph, grid, images.narrow(0, i, 1),
          (fs::path(folder) / ("frame" + padded(static_cast<std::uint64_t>(i)) + extension)).string());
    std::printf("wrote %lld frames into %s (%s) at step %lld\n", static_cast<long long>(images.size(0)),
                folder.c_str(), what.c_str(), static_cast<long long>(step));
    write_sheet(args, graph, grid, images);
    if (video_option == "none") return 0;
    if (!video) {
      std::printf("no video: the images plugin was built without OpenCV's videoio (libopencv-videoio-dev)\n");
      return 0;
    }
    const std::string video_file =
        video_option.empty()
            ? (fs::path(folder).parent_path() / (fs::path(folder).filename().string() + ".avi")).string()
            : video_option;
    write_video(*video, images, fps, video_file);
    std::printf("wrote %s (%lld frames at %lld fps)\n", video_file.c_str(),
                static_cast<long long>(images.size(0)), static_cast<long long>(fps));
    return 0;
  };
  if (between_captions) {
    if (args.has("space")) throw UserError("--space goes with an interpolation between seeds, not captions");
    generator.interpolate_other_inputs(captions, frames);
    const auto z = generator.code(seeds[0]).expand({(captions - 1) * frames + 1, -1}).contiguous();
    return finish(generator.run(z).first,
                  std::to_string(captions) + " captions, seed " + args.value("interpolate"));
  }
  const std::string space = args.value("space", "w");
  if (space != "w" && space != "z")
    throw UserError("--space " + space + ": expected w (linear) or z (spherical)");
  const auto z = generator.codes(seeds);
  std::vector<torch::Tensor> zs, ws;
  const auto keys = space == "w" ? generator.styles(z, psi) : torch::Tensor();
  for (size_t k = 0; k + 1 < seeds.size(); ++k)
    for (std::int64_t f = 0; f < frames; ++f) {
      const double t = static_cast<double>(f) / static_cast<double>(frames);
      const auto a = z.narrow(0, static_cast<std::int64_t>(k), 1),
                 b = z.narrow(0, static_cast<std::int64_t>(k + 1), 1);
      if (space == "z") {
        zs.push_back(slerp(a, b, t));
      } else {
        zs.push_back(a);
        ws.push_back(keys.narrow(0, static_cast<std::int64_t>(k), 1)
                         .lerp(keys.narrow(0, static_cast<std::int64_t>(k + 1), 1), t));
      }
    }
  zs.push_back(z.narrow(0, z.size(0) - 1, 1));
  if (space == "w") ws.push_back(keys.narrow(0, keys.size(0) - 1, 1));
  const auto all_z = torch::cat(zs);
  const auto all_w = space == "w" ? torch::cat(ws) : generator.styles(all_z, psi);
  char what[200];
  std::snprintf(what, sizeof what, "seeds %s, %s in %s, truncation %g", args.value("interpolate").c_str(),
                space == "w" ? "linear" : "spherical", space == "w" ? "W" : "Z", psi);
  return finish(generator.run(all_z, all_w).first, what);
}

}  // namespace ganglion::cli
