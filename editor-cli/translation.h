// `ganglion translate`: a trained translator (the graph's outputs.translate) applied to a user's own
// files, one output file per input file under the same relative name. Each file is read by the
// translator's reader source (its param `file` set to the file), fed to the translator node's
// input (cut into tiles where the graph says), and written by the translator's writer. A file the
// reader or the net refuses is named on stderr and skipped; the rest are still translated.
#pragma once

#include <cstdint>
#include <string>

#include "command_line.h"

namespace ganglion {
class Executor;
struct Graph;
struct TranslateSpec;
}  // namespace ganglion

namespace ganglion::cli {

/// Translates --input (a file, or every file under a folder) into --out. Returns 0 when every
/// file was translated and 2 when some were refused (each named on stderr); throws UserError when
/// nothing can start (no input, --out inside --input's files).
int run_translation(const ParsedArgs& args, Executor& executor, const Graph& graph, const TranslateSpec& spec,
                    std::int64_t step);

}  // namespace ganglion::cli
