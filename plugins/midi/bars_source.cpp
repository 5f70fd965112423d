// midi/bars: MidiNet's training rows from a folder of Standard MIDI Files: a bar of melody, the bar
// before it, and the bar's chord (piano_roll.h says how a song becomes bars). The split is by file:
// the files sorted by path, file i is held out (split "test") when i % test_every == test_every - 1.
// A damaged file is skipped with a warning that names it, and the run goes on.
#include <ganglion/plugin.h>

#include <iostream>

#include "data/ordered_source.h"
#include "midi/piano_roll.h"

namespace ganglion::midi {

class BarsSource : public data::OrderedSource {
 public:
  static Contract contract() {
    return Contract("midi/bars", NodeKind::Source)
        .counts_rows()
        .doc(
            "MidiNet's rows from a folder of .mid files: a melody bar (16 sixteenths x 128 pitches, 0/1), "
            "the bar before it and the bar's chord")
        .output("bar", DType::Float, "B,1,16,128", "the melody bar: 1 where a pitch sounds at a step")
        .output("previous", DType::Float, "B,1,16,128",
                "the bar before it in the song (all zero for a song's first bar, or after a bar not in 4/4)")
        .output("chord", DType::Float, "B,13", "the bar's chord: one-hot root C..B, then 1 for minor")
        .output("song", DType::Long, "B", "the file the row comes from: its place in the split's files")
        .param_path("folder", {}, "a folder searched recursively for .mid and .midi files")
        .param_string("split", std::string("train"),
                      "train, test or all: file i (sorted by path) is a test file when i % test_every == "
                      "test_every - 1")
        .param_int("test_every", 5, 2, 1000, "every this many files, one is held out for testing")
        .param_string("part", std::string("auto"),
                      "the melody's part: auto (the part with most notes from C4 to B6), a track number from "
                      "0, or TRACK:CHANNEL (channel 1..16)")
        .param_int("low", 60, 0, 104, "the lowest pitch of the melody's range (60 = C4)")
        .param_int("octaves", 2, 1, 5,
                   "the range's size in octaves: melody notes are moved by octaves into it")
        .param_bool("skip_empty", true, "leave out rows whose bar has no melody note")
        .param_int("files", 0, 0, 1 << 20, "read only the split's first this many files (0 = all)")
        .param_int("batch", 72, 1, 1 << 20, "rows per batch (MidiNet: 72)")
        .param_bool("shuffle", true, "reshuffle every epoch (from the graph's seed)")
        .param_bool("drop_last", true, "skip the last, smaller batch of an epoch")
        .param_bool("quiet", false, "do not warn about the files skipped as damaged");
  }

  explicit BarsSource(const NodeSetup& s) : batch_(s.params.integer("batch")) {
    const std::string& folder = s.params.text("folder");
    const std::string& split = s.params.text("split");
    if (split != "train" && split != "test" && split != "all")
      throw std::invalid_argument("param split is \"" + split + "\": use train, test or all");
    const int64_t test_every = s.params.integer("test_every");
    const PartChoice part = PartChoice::parse(s.params.text("part"));
    const int low = static_cast<int>(s.params.integer("low")),
              octaves = static_cast<int>(s.params.integer("octaves"));
    if (low + 12 * octaves > kPitches)
      throw std::invalid_argument("params low (" + std::to_string(low) + ") and octaves (" +
                                  std::to_string(octaves) + ") reach past MIDI's highest pitch, 127");
    const bool skip_empty = s.params.flag("skip_empty");
    const int64_t max_files = s.params.integer("files");

    const std::vector<std::string> all = midi_files(folder);
    if (all.empty()) throw std::invalid_argument(folder + ": holds no .mid or .midi file");
    std::vector<std::string> files;
    for (size_t i = 0; i < all.size(); ++i) {
      const bool test = int64_t(i) % test_every == test_every - 1;
      if (split == "all" || (split == "test") == test) files.push_back(all[i]);
    }
    if (max_files > 0 && int64_t(files.size()) > max_files) files.resize(max_files);

    std::vector<Bar> bars, previous;
    std::vector<int64_t> songs;
    int64_t damaged = 0;
    for (size_t f = 0; f < files.size(); ++f) {
      EncodedSong song;
      try {
        song = encode_song(read_song(files[f]), part, low, octaves);
      } catch (const std::invalid_argument& e) {
        ++damaged;
        if (!s.params.flag("quiet")) std::cerr << "warning: midi/bars skips " << e.what() << "\n";
        continue;
      }
      Bar silence;
      silence.pitch.fill(-1);
      for (size_t b = 0; b < song.bars.size(); ++b) {
        if (skip_empty && song.bars[b].empty()) continue;
        bars.push_back(song.bars[b]);
        previous.push_back(song.bars[b].follows ? song.bars[b - 1] : silence);
        songs.push_back(static_cast<int64_t>(f));
      }
    }
    if (bars.empty())
      throw std::invalid_argument(
          folder + ": none of the " + std::to_string(files.size()) + " files of split " + split +
          " gave a bar of melody" +
          (damaged ? " (" + std::to_string(damaged) + " were damaged)" : std::string()));
    const int64_t n = static_cast<int64_t>(bars.size());
    bars_ = torch::zeros({n, 1, kSteps, kPitches});
    previous_ = torch::zeros({n, 1, kSteps, kPitches});
    chords_ = torch::zeros({n, kChordDim});
    for (int64_t i = 0; i < n; ++i) {
      fill_roll(bars[i], bars_[i].data_ptr<float>());
      fill_roll(previous[i], previous_[i].data_ptr<float>());
      const auto v = bars[i].chord.vector();
      std::copy(v.begin(), v.end(), chords_[i].data_ptr<float>());
    }
    songs_ = torch::tensor(songs, torch::kLong);
    order_items(s, n, batch_, false, "bars");
  }

  TensorMap next(const TensorMap&, RunContext&) override {
    const auto index = torch::tensor(order_->next(batch_), torch::kLong);
    return {{"bar", bars_.index_select(0, index)},
            {"previous", previous_.index_select(0, index)},
            {"chord", chords_.index_select(0, index)},
            {"song", songs_.index_select(0, index)}};
  }

 private:
  int64_t batch_;
  torch::Tensor bars_, previous_, chords_, songs_;
};

}  // namespace ganglion::midi

void register_bars_source(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::midi::BarsSource>());
}
