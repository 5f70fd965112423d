// midi/chord-tones: how well bars follow the chord they were asked for: the share of their notes
// (read as midi/file writes them) whose pitch class is one of the chord's three tones, over the
// bars whose chord is not "none". The same on real bars and their own chords gives the ceiling.
#include <ganglion/plugin.h>

#include "midi/piano_roll.h"
#include "midi/roll_notes.h"

namespace ganglion::midi {

class ChordTones : public Function {
 public:
  static Contract contract() {
    return Contract("midi/chord-tones", NodeKind::Function)
        .metric()
        .doc("share of the bars' notes that are tones of the chord each bar was asked for")
        .input("bar", DType::Float, "N,1,16,128", "bars: rolls in [0, 1]")
        .input("chord", DType::Float, "N,13", "each bar's chord: one-hot root, then 1 for minor")
        .output("chord_tones", DType::Float, "", "share of notes in the chord's triad, 0..1")
        .param_float("threshold", 0.5, 0.0, 1.0, "a pitch sounds at a step where its value reaches this");
  }
  explicit ChordTones(const NodeSetup& s) : threshold_(static_cast<float>(s.params.real("threshold"))) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto bars = in.at("bar").detach().to(torch::kCPU, torch::kFloat).contiguous();
    const auto chords = in.at("chord").detach().to(torch::kCPU, torch::kFloat).contiguous();
    if (chords.size(0) != bars.size(0))
      throw std::invalid_argument("inputs bar and chord have " + std::to_string(bars.size(0)) + " and " +
                                  std::to_string(chords.size(0)) + " rows");
    double hits = 0, total = 0;
    for (int64_t i = 0; i < bars.size(0); ++i) {
      const float* y = chords[i].data_ptr<float>();
      Chord chord;
      for (int r = 0; r < 12; ++r)
        if (y[r] > 0.5f) chord.root = r;
      if (chord.root < 0) continue;
      chord.minor = y[12] > 0.5f;
      const auto tones = chord.tones();
      for (const auto& note : notes_from_roll(bars[i][0].data_ptr<float>(), kSteps, threshold_, false)) {
        total += 1;
        hits += std::find(tones.begin(), tones.end(), note.pitch % 12) != tones.end();
      }
    }
    return {{"chord_tones", torch::tensor(static_cast<float>(total > 0 ? hits / total : 0.0))}};
  }

 private:
  float threshold_;
};

}  // namespace ganglion::midi

void register_chord_tones(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::midi::ChordTones>());
}
