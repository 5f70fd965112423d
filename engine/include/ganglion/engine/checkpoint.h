// Checkpoints: everything a run needs to continue exactly (modules, EMA shadows, optimisers, random
// state, data positions, step), written to a temporary name and renamed, so a reader never sees a
// half-written file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ganglion {

class Executor;

struct CheckpointFile {
  std::string path;
  std::int64_t step = 0;
};

/// The checkpoint with the highest step in `run_dir`/checkpoints, if any.
std::optional<CheckpointFile> latest_checkpoint(const std::string& run_dir);

/// What a user's path to a checkpoint names: the file itself, or a run directory's newest.
struct NamedCheckpoint {
  std::string file;     ///< "" for a run directory without checkpoints yet
  std::string run_dir;  ///< the run it belongs to ("" for a file outside RUN/checkpoints/)
};

/// Resolves a path that names a checkpoint file or a run directory; nothing when it names neither.
std::optional<NamedCheckpoint> named_checkpoint(const std::string& path);

/// Writes the checkpoint of `step` and removes all but the `keep` newest. Returns its path.
/// `run_state` (JSON text, "" for none) is the run loop's own state: each phase's latest loss.
std::string write_checkpoint(const std::string& run_dir, std::int64_t step, const Executor& executor,
                             std::int64_t keep, const std::string& run_state = {});

/// Restores `executor` from `path`; returns the step it was written at, and the run loop's state
/// in `run_state` when given ("" when the checkpoint holds none). Throws UserError on a missing,
/// corrupt or mismatched checkpoint.
std::int64_t read_checkpoint(const std::string& path, Executor& executor, std::string* run_state = nullptr);

}  // namespace ganglion
