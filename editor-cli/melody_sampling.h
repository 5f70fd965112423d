// `ganglion sample` for a sequence grid (outputs.samples' "sequence", MidiNet's melody): --bars
// steps, --chords the chord of each bar, --midi-out streams each bar to a MIDI port as it is made,
// --midi-in takes the first bar from what a person plays on a MIDI keyboard. And the MIDI verbs:
// `ganglion midi ports` and `ganglion play`.
#pragma once

#include <cstdint>
#include <string>

#include "command_line.h"

namespace ganglion {
class Executor;
struct Graph;
struct SamplesSpec;
}  // namespace ganglion

namespace ganglion::cli {

/// Whether `args` ask for a sequence tool (then run_melody_sampling does the command).
bool wants_melody_sampling(const ParsedArgs& args);

/// Draws `grid` as a sequence the way `args` say and writes it to --out (default: beside the
/// checkpoint in `run_dir`). Returns the exit code; throws UserError for a mistake.
int run_melody_sampling(const ParsedArgs& args, Executor& executor, const Graph& graph,
                        const SamplesSpec& grid, const std::string& run_dir, std::int64_t step);

/// `ganglion midi ports`: the MIDI input and output ports, a line each.
int midi_command(const ParsedArgs& args);
/// `ganglion play FILE.mid --port NAME`: the file played to a port in real time.
int play_command(const ParsedArgs& args);

}  // namespace ganglion::cli
