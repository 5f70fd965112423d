// `ganglion sample`'s tools for a generator fed codes the user chose, as StyleGAN's own scripts
// do: one image per seed (--seeds), truncation towards the mean style (--truncation), a
// style-mixing grid (--style-mix) and interpolation frames (--interpolate). Truncation, mixing
// and interpolation in W need a generator whose contract declares a mapping/synthesis split
// (Contract::style_split); --seeds works for any generator with one code input.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "command_line.h"

namespace ganglion {
class Executor;
class PluginRegistry;
struct Graph;
struct SamplesSpec;
}  // namespace ganglion

namespace ganglion::cli {

/// Whether `args` ask for one of the style tools (then run_style_sampling does the command).
bool wants_style_sampling(const ParsedArgs& args);

/// Runs the tool `args` ask for on the generator node that `grid`'s output comes from; writes
/// into `--out` (a folder for --seeds and --interpolate, a file for --style-mix) or beside the
/// checkpoint in `run_dir`; --interpolate also writes a video through `registry`'s io/video
/// writer where it is built. Returns the exit code; throws UserError for a mistake.
int run_style_sampling(const ParsedArgs& args, Executor& executor, const Graph& graph,
                       const SamplesSpec& grid, const std::string& run_dir, std::int64_t step,
                       const PluginRegistry& registry);

/// "0-3,7,10-11" as the numbers it names, in order; throws UserError naming `option`.
std::vector<std::uint64_t> parse_number_list(const std::string& text, const std::string& option);

/// The style layers "coarse" (0-3: 4x4 and 8x8), "middle" (4-7: 16 and 32), "fine" (8 on) or
/// "A-B" name, comma-separated, among `layers`; throws UserError naming --mix-layers.
std::set<std::int64_t> parse_style_layers(const std::string& text, std::int64_t layers);

/// The styles of a style-mixing grid's cells, row by row: cell (r, c) is w_rows[r] ([R, L, D])
/// with the layers in `layers` taken from w_columns[c] ([C, L, D]). Gives [R * C, L, D].
at::Tensor mix_styles(const at::Tensor& w_rows, const at::Tensor& w_columns,
                      const std::set<std::int64_t>& layers);

}  // namespace ganglion::cli
