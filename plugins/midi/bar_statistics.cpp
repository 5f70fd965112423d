// midi/bar-statistics: what a set of melody bars is like, read as midi/file writes them (each
// step's strongest pitch where it reaches the threshold; one note per run of steps of a pitch):
// the share of empty bars, the pitch classes a non-empty bar uses, the share of its notes in the
// major scale (or its relative minor) that holds most of them, and the notes per bar. Scored on
// generated and on held-out real bars, the figures say how like the music a generator's bars are.
#include <ganglion/plugin.h>

#include <bitset>

#include "midi/piano_roll.h"
#include "midi/roll_notes.h"

namespace ganglion::midi {

class BarStatistics : public Function {
 public:
  static Contract contract() {
    return Contract("midi/bar-statistics", NodeKind::Function)
        .metric()
        .doc("empty-bar rate, pitch classes per bar, share of notes in the bar's scale, notes per bar")
        .input("bar", DType::Float, "N,1,16,128", "bars: rolls in [0, 1]")
        .output("empty_rate", DType::Float, "", "share of bars without a note")
        .output("pitch_classes", DType::Float, "", "distinct pitch classes per non-empty bar, on average")
        .output("in_scale", DType::Float, "",
                "share of a non-empty bar's notes in the major scale that holds most of them, on average")
        .output("notes_per_bar", DType::Float, "", "notes per bar, empty bars included")
        .param_float("threshold", 0.5, 0.0, 1.0, "a pitch sounds at a step where its value reaches this");
  }
  explicit BarStatistics(const NodeSetup& s) : threshold_(static_cast<float>(s.params.real("threshold"))) {}

  TensorMap forward(const TensorMap& in, RunContext&) override {
    const auto bars = in.at("bar").detach().to(torch::kCPU, torch::kFloat).contiguous();
    const int64_t n = bars.size(0);
    if (n == 0) throw std::invalid_argument("input bar holds no bars");
    double empty = 0, classes = 0, in_scale = 0, notes = 0;
    static const int kMajor[7] = {0, 2, 4, 5, 7, 9, 11};
    for (int64_t i = 0; i < n; ++i) {
      const auto bar_notes = notes_from_roll(bars[i][0].data_ptr<float>(), kSteps, threshold_, false);
      notes += double(bar_notes.size());
      if (bar_notes.empty()) {
        ++empty;
        continue;
      }
      std::bitset<12> used;
      for (const auto& note : bar_notes) used.set(note.pitch % 12);
      classes += double(used.count());
      int best = 0;
      for (int key = 0; key < 12; ++key) {
        int hits = 0;
        for (const auto& note : bar_notes)
          for (int degree : kMajor) hits += (note.pitch - key + 120) % 12 == degree;
        best = std::max(best, hits);
      }
      in_scale += double(best) / double(bar_notes.size());
    }
    const double full = std::max(1.0, double(n) - empty);
    const auto scalar = [](double v) { return torch::tensor(static_cast<float>(v)); };
    return {{"empty_rate", scalar(empty / double(n))},
            {"pitch_classes", scalar(classes / full)},
            {"in_scale", scalar(in_scale / full)},
            {"notes_per_bar", scalar(notes / double(n))}};
  }

 private:
  float threshold_;
};

}  // namespace ganglion::midi

void register_bar_statistics(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::midi::BarStatistics>());
}
