#include "translation.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

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

constexpr std::int64_t kTilesPerCall = 16;  // bounded memory for a photo of any size

/// What a reader may ask while it reads one file: the run's device, a fixed generator.
class ReaderContext : public RunContext {
 public:
  explicit ReaderContext(torch::Device device)
      : device_(device), generator_(at::make_generator<at::CPUGeneratorImpl>(0)) {}
  torch::Device device() const override { return device_; }
  at::Generator& generator() override { return generator_; }
  std::int64_t step() const override { return 0; }
  bool sampling() const override { return true; }

 private:
  torch::Device device_;
  at::Generator generator_;
};

/// The files --input names: the file itself, or every file under the folder (hidden ones aside),
/// sorted, each with the name its output takes relative to --out.
std::vector<std::pair<fs::path, fs::path>> input_files(const std::string& input) {
  std::error_code ec;
  if (!fs::exists(input, ec)) throw UserError("--input " + input + ": no such file or folder");
  std::vector<std::pair<fs::path, fs::path>> files;
  if (!fs::is_directory(input)) {
    files.emplace_back(input, fs::path(input).filename());
    return files;
  }
  for (auto it = fs::recursive_directory_iterator(input, fs::directory_options::follow_directory_symlink);
       it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file()) files.emplace_back(it->path(), fs::relative(it->path(), input));
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw UserError("--input " + input + ": the folder holds no files");
  return files;
}

/// Whether `inner` is `outer` or lies under it.
bool inside(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(inner, ec), b = fs::weakly_canonical(outer, ec);
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai)
    if (ai == a.end() || *ai != *bi) return false;
  return true;
}

class Translator {
 public:
  Translator(Executor& executor, const Graph& graph, const TranslateSpec& spec)
      : executor_(executor), graph_(graph), spec_(spec), context_(executor.device()) {
    const NodeEntry& n = graph.nodes.at(spec.node);
    // The translator's other inputs (a code, a style) as the run's own samples draw them; a
    // file's value replaces `input`.
    std::vector<PortRef> refs;
    for (const auto& [port, ref] : n.inputs)
      if (port != spec.input) {
        other_ports_.push_back(port);
        refs.push_back(ref);
      }
    if (!refs.empty()) others_ = executor.sample(refs);
    NodeSetup setup;
    setup.name = "translate writer";
    setup.params = spec.writer_params;
    writer_ = make_writer(*spec.writer, setup);
    extension_ = samples_extension(*writer_);
  }

  const std::string& extension() const { return extension_; }

  /// Reads, translates and writes one file; a std::exception says why it was refused.
  void translate(const fs::path& file, const fs::path& out) {
    NodeSetup setup;
    setup.name = "translate reader";
    setup.params = spec_.reader_params;
    setup.params.set("file", file.string());
    const auto reader = make_source(*spec_.reader, setup);
    const TensorMap read = reader->next({}, context_);
    const auto it = read.find(spec_.reader_port);
    if (it == read.end() || !it->second.defined())
      throw std::runtime_error(spec_.reader->contract.type() + " gave no " + spec_.reader_port +
                               " (a plugin bug)");
    const torch::Tensor value = it->second.to(executor_.device());
    const torch::Tensor result = spec_.tile > 0 && value.dim() == 4 ? tiled(value) : apply(value);
    fs::create_directories(out.parent_path());
    write_atomically(out.string(), [&](const std::string& tmp) { writer_->write(result, tmp); });
  }

 private:
  torch::Tensor apply(const torch::Tensor& value) {
    TensorMap in{{spec_.input, value}};
    for (size_t i = 0; i < other_ports_.size(); ++i) {
      const auto rows = torch::arange(value.size(0), torch::kLong).remainder(others_[i].size(0));
      in[other_ports_[i]] = others_[i].index_select(0, rows.to(others_[i].device()));
    }
    return executor_.apply_module(spec_.node, in).at(spec_.output);
  }

  /// An image larger than the net takes at once, cut into tile x tile squares (the edges padded
  /// by repeating the border), translated a few tiles a call, and put back together.
  torch::Tensor tiled(const torch::Tensor& image) {
    const std::int64_t t = spec_.tile, h = image.size(2), w = image.size(3);
    const std::int64_t rows = (h + t - 1) / t, cols = (w + t - 1) / t;
    const auto padded = torch::nn::functional::pad(
        image,
        torch::nn::functional::PadFuncOptions({0, cols * t - w, 0, rows * t - h}).mode(torch::kReplicate));
    std::vector<torch::Tensor> tiles;
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) tiles.push_back(padded.narrow(2, r * t, t).narrow(3, c * t, t));
    const auto all = torch::cat(tiles);
    std::vector<torch::Tensor> done;
    for (std::int64_t start = 0; start < all.size(0); start += kTilesPerCall)
      done.push_back(apply(all.narrow(0, start, std::min(kTilesPerCall, all.size(0) - start))));
    const auto out = torch::cat(done);
    if (out.dim() != 4 || out.size(2) != t || out.size(3) != t)
      throw std::runtime_error("the translator made " + c10::str(out.sizes()) + " of " + std::to_string(t) +
                               "x" + std::to_string(t) +
                               " tiles; tiles need a net whose output has its input's size");
    auto whole = torch::empty({1, out.size(1), rows * t, cols * t}, out.options());
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c)
        whole.narrow(2, r * t, t).narrow(3, c * t, t).copy_(out[r * cols + c]);
    return whole.narrow(2, 0, h).narrow(3, 0, w);
  }

  Executor& executor_;
  const Graph& graph_;
  const TranslateSpec& spec_;
  ReaderContext context_;
  std::vector<std::string> other_ports_;
  std::vector<torch::Tensor> others_;
  std::shared_ptr<Writer> writer_;
  std::string extension_;
};

}  // namespace

int run_translation(const ParsedArgs& args, Executor& executor, const Graph& graph, const TranslateSpec& spec,
                    std::int64_t step) {
  const std::string input = args.value("input"), out = args.value("out");
  if (input.empty()) throw UserError("--input FILE_OR_DIR is required: the files to translate");
  if (out.empty()) throw UserError("--out DIR is required: the folder the translations go into");
  const auto files = input_files(input);
  if (fs::exists(out) && !fs::is_directory(out))
    throw UserError("--out " + out + ": is a file, not a folder");
  if (fs::is_directory(input) && inside(out, input))
    throw UserError("--out " + out + " is inside --input " + input +
                    ": the translations would mix with the files translated; choose a folder outside it");
  Translator translator(executor, graph, spec);
  std::size_t refused = 0, written = 0;
  const bool progress = isatty(fileno(stderr)) && files.size() > 1;
  for (std::size_t i = 0; i < files.size(); ++i) {
    const auto& [file, name] = files[i];
    fs::path target = fs::path(out) / name;
    target.replace_extension(translator.extension());
    if (fs::exists(target) && fs::equivalent(target, file)) {
      std::fprintf(stderr, "%s: refused: its translation would replace it (choose another --out)\n",
                   file.string().c_str());
      ++refused;
      continue;
    }
    try {
      translator.translate(file, target);
      ++written;
    } catch (const std::exception& e) {
      if (progress) std::fprintf(stderr, "\r\033[K");
      std::fprintf(stderr, "%s: refused: %s\n", file.string().c_str(), e.what());
      ++refused;
    }
    if (progress)
      std::fprintf(stderr, "\r\033[Ktranslating %zu/%zu %s", i + 1, files.size(), name.string().c_str());
  }
  if (progress) std::fprintf(stderr, "\r\033[K");
  std::string what = graph.port_name(PortRef{spec.node, spec.output});
  if (!spec.name.empty()) what += " (" + spec.name + ")";
  const std::string refusals = refused ? ", " + std::to_string(refused) + " refused (named above)" : "";
  std::printf("translated %zu of %zu files into %s with %s at step %lld%s\n", written, files.size(),
              out.c_str(), what.c_str(), static_cast<long long>(step), refusals.c_str());
  return refused ? 2 : 0;
}

}  // namespace ganglion::cli
