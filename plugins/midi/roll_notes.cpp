#include "midi/roll_notes.h"

#include <algorithm>

#include "midi/piano_roll.h"

namespace ganglion::midi {

std::vector<StepNote> notes_from_roll(const float* roll, int64_t steps, float threshold, bool polyphonic) {
  std::vector<StepNote> notes;
  std::vector<int64_t> started(kPitches, -1);  // the step each sounding pitch began at
  const auto close = [&](int p, int64_t at) {
    if (started[p] >= 0) notes.push_back({p, started[p], at}), started[p] = -1;
  };
  for (int64_t s = 0; s < steps; ++s) {
    const float* row = roll + s * kPitches;
    std::vector<bool> on(kPitches, false);
    if (polyphonic) {
      for (int p = 0; p < kPitches; ++p) on[p] = row[p] >= threshold;
    } else {
      const int p = static_cast<int>(std::max_element(row, row + kPitches) - row);
      on[p] = row[p] >= threshold;
    }
    for (int p = 0; p < kPitches; ++p) {
      if (!on[p])
        close(p, s);
      else if (started[p] < 0)
        started[p] = s;
    }
  }
  for (int p = 0; p < kPitches; ++p) close(p, steps);
  std::sort(notes.begin(), notes.end(), [](const StepNote& a, const StepNote& b) {
    return a.start != b.start ? a.start < b.start : a.pitch < b.pitch;
  });
  return notes;
}

}  // namespace ganglion::midi
