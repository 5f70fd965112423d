// MidiNet's representation of a song (Yang et al. 2017): bars of 16 sixteenth-note steps, at each
// step the melody's one pitch or a rest, and a chord per bar as 12 root classes plus a minor flag.
//
// - Bars follow the file's time signatures; only bars of 16 sixteenths (4/4, 2/2) are encoded,
//   and a bar of another length breaks the chain (the bar after it has no previous bar).
// - The melody is one part: a track, or a track's channel (General MIDI's drum channel 10 never).
//   "auto" takes the part with the most notes from C4 to B6 (MIDI 60..95). At each step the part's
//   highest note sounding for at least half of the step is the melody's; each melody note is moved
//   by whole octaves into [low, low + 12 * octaves) (MidiNet: C4..B5, 60..83).
// - The chord is estimated from every non-drum note of the bar, weighted by how long it sounds:
//   of the 24 major and minor triads, the one whose three pitch classes hold the most sounding time
//   (a quarter of the root's time added, so that C-E-G-A is C rather than A minor); none for an
//   empty bar.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "midi/midi_song.h"

namespace ganglion::midi {

constexpr int kSteps = 16;     ///< sixteenth notes per bar
constexpr int kPitches = 128;  ///< MIDI pitches, the roll's width
constexpr int kChordDim = 13;  ///< 12 root classes + minor flag

struct Chord {
  int root = -1;  ///< pitch class 0 (C) .. 11 (B); -1 = none (an empty bar)
  bool minor = false;
  /// MidiNet's 13 numbers: one-hot root, then 1 for minor; all zero for none.
  std::array<float, kChordDim> vector() const;
  /// "C", "F#m", "-".
  std::string name() const;
  /// The three pitch classes of the triad (none: empty).
  std::vector<int> tones() const;
};

/// "C", "Am", "F#", "Bbm", "Ebmin", "Gmaj" as a chord; throws std::invalid_argument otherwise.
Chord parse_chord(const std::string& text);

struct Bar {
  std::array<int, kSteps> pitch;  ///< the melody's MIDI pitch at each step, -1 = rest
  Chord chord;
  bool follows = false;  ///< the bar before it in the song was encoded too
  bool empty() const;
};

struct PartChoice {
  int track = -1, channel = -1;                      ///< -1 = any
  static PartChoice parse(const std::string& text);  ///< "auto", "TRACK", "TRACK:CHANNEL" (1-based channel)
};

struct EncodedSong {
  std::vector<Bar> bars;
  int track = -1, channel = -1;  ///< the melody's part
  int64_t other_meter_bars = 0;  ///< bars skipped for not being 16 sixteenths long
};

/// Writes 1 where `bar`'s melody sounds into `out`, a zeroed 16 x 128 roll (steps x pitches,
/// row-major): the bar as midi/bars gives it.
void fill_roll(const Bar& bar, float* out);

/// Encodes `song`. `low` and `octaves` give the melody's range. Throws std::invalid_argument for
/// a song over 100,000 bars long (a damaged delta time).
EncodedSong encode_song(const Song& song, const PartChoice& part, int low, int octaves);

/// The chord that fits a pitch-class histogram of sounding time best (none for an all-zero one).
Chord estimate_chord(const std::array<double, 12>& pitch_class_time);

}  // namespace ganglion::midi
