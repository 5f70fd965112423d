// A generated piano roll (steps x 128 pitches, values in [0, 1]) as the notes a MIDI file or port
// receives: a pitch sounds at a step where its value reaches the threshold (only the step's
// strongest pitch for a melody), and consecutive steps of one pitch are one held note.
#pragma once

#include <cstdint>
#include <vector>

namespace ganglion::midi {

struct StepNote {
  int pitch = 0;
  int64_t start = 0, end = 0;  ///< steps; end > start
};

/// The notes of `roll` (`steps` rows of 128 values, row-major), ordered by start then pitch.
std::vector<StepNote> notes_from_roll(const float* roll, int64_t steps, float threshold, bool polyphonic);

}  // namespace ganglion::midi
