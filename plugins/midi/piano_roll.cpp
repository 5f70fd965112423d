#include "midi/piano_roll.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

namespace ganglion::midi {

namespace {

const char* const kNoteNames[12] = {"C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"};
constexpr int kDrumChannel = 9;

int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  return std::max<int64_t>(0, std::min(a1, b1) - std::max(a0, b0));
}

}  // namespace

std::array<float, kChordDim> Chord::vector() const {
  std::array<float, kChordDim> v{};
  if (root >= 0) {
    v[root] = 1;
    v[12] = minor ? 1 : 0;
  }
  return v;
}

std::string Chord::name() const {
  return root < 0 ? "-" : std::string(kNoteNames[root]) + (minor ? "m" : "");
}

std::vector<int> Chord::tones() const {
  if (root < 0) return {};
  return {root, (root + (minor ? 3 : 4)) % 12, (root + 7) % 12};
}

Chord parse_chord(const std::string& text) {
  const auto bad = [&] {
    return std::invalid_argument("\"" + text +
                                 "\" is not a chord: give a root C D E F G A B, optionally # or b, then "
                                 "m for minor (\"C\", \"F#m\", \"Bb\"), or - for none");
  };
  if (text == "-") return {};
  if (text.empty()) throw bad();
  static const std::map<char, int> letters = {{'C', 0}, {'D', 2}, {'E', 4}, {'F', 5},
                                              {'G', 7}, {'A', 9}, {'B', 11}};
  const auto letter = letters.find(static_cast<char>(std::toupper(static_cast<unsigned char>(text[0]))));
  if (letter == letters.end()) throw bad();
  Chord c;
  c.root = letter->second;
  size_t i = 1;
  if (i < text.size() && (text[i] == '#' || text[i] == 'b'))
    c.root = (c.root + (text[i] == '#' ? 1 : 11)) % 12, ++i;
  const std::string rest = text.substr(i);
  if (rest == "m" || rest == "min" || rest == "-")
    c.minor = true;
  else if (!(rest.empty() || rest == "maj" || rest == "M"))
    throw bad();
  return c;
}

void fill_roll(const Bar& bar, float* out) {
  for (int s = 0; s < kSteps; ++s)
    if (bar.pitch[s] >= 0) out[s * kPitches + bar.pitch[s]] = 1;
}

bool Bar::empty() const {
  return std::all_of(pitch.begin(), pitch.end(), [](int p) { return p < 0; });
}

PartChoice PartChoice::parse(const std::string& text) {
  PartChoice p;
  if (text == "auto") return p;
  const auto bad = [&] {
    return std::invalid_argument("param part is \"" + text +
                                 "\": use auto, a track number from 0 (\"2\"), or TRACK:CHANNEL with the "
                                 "channel from 1 to 16 (\"0:4\")");
  };
  const auto colon = text.find(':');
  const auto number = [&](const std::string& s, int lo, int hi) {
    if (s.empty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), ::isdigit)) throw bad();
    const int v = std::stoi(s);
    if (v < lo || v > hi) throw bad();
    return v;
  };
  p.track = number(text.substr(0, colon), 0, 65535);
  if (colon != std::string::npos) p.channel = number(text.substr(colon + 1), 1, 16) - 1;
  return p;
}

Chord estimate_chord(const std::array<double, 12>& time) {
  Chord best;
  double best_score = 0;
  for (int minor = 0; minor < 2; ++minor)
    for (int root = 0; root < 12; ++root) {
      Chord c{root, minor == 1};
      double score = 0.25 * time[root];
      for (int tone : c.tones()) score += time[tone];
      if (score > best_score + 1e-9) best_score = score, best = c;
    }
  return best;
}

EncodedSong encode_song(const Song& song, const PartChoice& part, int low, int octaves) {
  EncodedSong out;
  // A damaged delta time can stretch a file to years of silence; no song lasts 100,000 bars.
  if (song.length / std::max<int64_t>(1, int64_t(song.ppqn) * 4) > 100000)
    throw std::invalid_argument(song.path + ": lasts over 100,000 bars of 4/4 (" +
                                std::to_string(song.length) + " pulses at " + std::to_string(song.ppqn) +
                                " a quarter note): a damaged file?");
  // The melody's part.
  std::map<std::pair<int, int>, int64_t> counts;
  for (const Note& n : song.notes) {
    if (n.channel == kDrumChannel) continue;
    if (part.track >= 0 && n.track != part.track) continue;
    if (part.channel >= 0 && n.channel != part.channel) continue;
    int64_t& c = counts[{n.track, part.track >= 0 && part.channel < 0 ? -1 : n.channel}];
    if (n.pitch >= 60 && n.pitch < 96) ++c;
  }
  if (counts.empty()) return out;
  const auto chosen = std::max_element(counts.begin(), counts.end(),
                                       [](const auto& a, const auto& b) { return a.second < b.second; });
  out.track = chosen->first.first, out.channel = chosen->first.second;
  const auto in_part = [&](const Note& n) {
    return n.channel != kDrumChannel && n.track == out.track && (out.channel < 0 || n.channel == out.channel);
  };

  const int64_t step = std::max(1, song.ppqn / 4);
  const int high = low + 12 * octaves;
  // Notes are ordered by start, so none before first_note, which started over `longest` pulses
  // before the bar, can reach it.
  int64_t longest = 0;
  for (const Note& n : song.notes) longest = std::max(longest, n.end - n.start);
  size_t first_note = 0;
  bool previous_encoded = false;
  for (size_t m = 0; m < song.meters.size(); ++m) {
    const Meter& meter = song.meters[m];
    const int64_t segment_end = m + 1 < song.meters.size() ? song.meters[m + 1].at : song.length;
    const int64_t bar_length = int64_t(song.ppqn) * 4 * meter.numerator / std::max(1, meter.denominator);
    if (bar_length <= 0) continue;
    const bool sixteen = bar_length == kSteps * step;
    for (int64_t start = meter.at; start < segment_end; start += bar_length) {
      if (!sixteen) {
        ++out.other_meter_bars;
        previous_encoded = false;
        continue;
      }
      const int64_t end = start + bar_length;
      Bar bar;
      bar.pitch.fill(-1);
      bar.follows = previous_encoded;
      std::array<double, 12> pitch_class_time{};
      std::array<int, kSteps> played;  // the winning note's pitch as played, before folding
      played.fill(-1);
      while (first_note < song.notes.size() && song.notes[first_note].start + longest <= start) ++first_note;
      for (size_t i = first_note; i < song.notes.size(); ++i) {
        const Note& n = song.notes[i];
        if (n.start >= end) break;
        if (n.end <= start || n.channel == kDrumChannel) continue;
        pitch_class_time[n.pitch % 12] += double(overlap(n.start, n.end, start, end));
        if (!in_part(n)) continue;
        for (int s = 0; s < kSteps; ++s) {
          const int64_t s0 = start + s * step;
          if (2 * overlap(n.start, n.end, s0, s0 + step) < step || n.pitch <= played[s]) continue;
          int p = n.pitch;
          while (p < low) p += 12;
          while (p >= high) p -= 12;
          played[s] = n.pitch, bar.pitch[s] = p;
        }
      }
      bar.chord = estimate_chord(pitch_class_time);
      out.bars.push_back(bar);
      previous_encoded = true;
    }
  }
  return out;
}

}  // namespace ganglion::midi
