// midi/file: generated bars (B,1,T,128 in [0, 1], T steps of a sixteenth) as one Standard MIDI File
// of type 0, each row of the batch after the one before with a bar of rest between them, so that
// the file plays as it reads. Written with libsmf.
#include <ganglion/plugin.h>
#include <smf.h>

#include <memory>

#include "midi/piano_roll.h"
#include "midi/roll_notes.h"
#include "midi/smf_handle.h"

namespace ganglion::midi {

namespace {

constexpr int kPpqn = 480, kStepPulses = kPpqn / 4;

void add(smf_track_t* track, int64_t step, smf_event_t* event) {
  if (!event) throw std::runtime_error("libsmf: cannot make an event");
  smf_track_add_event_pulses(track, event, static_cast<int>(step * kStepPulses));
}

smf_event_t* meta(std::vector<unsigned char> bytes) {
  return smf_event_new_from_pointer(bytes.data(), static_cast<int>(bytes.size()));
}

}  // namespace

class MidiFileWriter : public Writer {
 public:
  static Contract contract() {
    return Contract("midi/file", NodeKind::Writer)
        .doc("piano-roll bars (B,1,T,128 in [0, 1]) as a Standard MIDI File: the rows one after another")
        .input("value", DType::Float, "B,1,T,128", "rolls: T sixteenth-note steps of 128 MIDI pitches")
        .param_float("tempo", 120.0, 20.0, 400.0, "beats (quarter notes) per minute")
        .param_int("program", 0, 0, 127, "General MIDI instrument, from 0 (0 = acoustic grand piano)")
        .param_int("channel", 1, 1, 16, "MIDI channel, 1..16 (10 is General MIDI's drums)")
        .param_int("velocity", 100, 1, 127, "the notes' velocity")
        .param_float("threshold", 0.5, 0.0, 1.0, "a pitch sounds at a step where its value reaches this")
        .param_bool("polyphonic", false,
                    "every pitch over the threshold sounds, not only each step's strongest")
        .param_int("gap_bars", 1, 0, 64, "bars of rest between two rows of the batch")
        .param_int("rows", 0, 0, 1 << 20, "write only the batch's first this many rows (0 = all)");
  }

  explicit MidiFileWriter(const NodeSetup& s)
      : tempo_(s.params.real("tempo")),
        program_(static_cast<int>(s.params.integer("program"))),
        channel_(static_cast<int>(s.params.integer("channel")) - 1),
        velocity_(static_cast<int>(s.params.integer("velocity"))),
        threshold_(static_cast<float>(s.params.real("threshold"))),
        polyphonic_(s.params.flag("polyphonic")),
        gap_(s.params.integer("gap_bars")),
        rows_(s.params.integer("rows")) {}

  std::string extension() const override { return ".mid"; }

  void write(const torch::Tensor& value, const std::string& path) override {
    if (value.dim() != 4 || value.size(1) != 1 || value.size(3) != kPitches)
      throw std::invalid_argument("midi/file takes rolls B,1,T,128");
    const auto rolls = value.detach().to(torch::kCPU, torch::kFloat).contiguous();
    const int64_t rows = rows_ > 0 ? std::min(rows_, rolls.size(0)) : rolls.size(0), steps = rolls.size(2);

    SmfPtr smf(smf_new());
    if (!smf || smf_set_ppqn(smf.get(), kPpqn) != 0) throw std::runtime_error("libsmf: cannot make a file");
    smf_track_t* track = smf_track_new();
    if (!track) throw std::runtime_error("libsmf: cannot make a track");
    smf_add_track(smf.get(), track);
    const int tempo = static_cast<int>(60e6 / tempo_ + 0.5);
    add(track, 0,
        meta({0xFF, 0x51, 0x03, static_cast<unsigned char>(tempo >> 16),
              static_cast<unsigned char>(tempo >> 8), static_cast<unsigned char>(tempo)}));
    add(track, 0, meta({0xFF, 0x58, 0x04, 4, 2, 24, 8}));  // 4/4
    add(track, 0, smf_event_new_from_bytes(0xC0 | channel_, program_, -1));
    int64_t offset = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (const StepNote& n :
           notes_from_roll(rolls[r][0].data_ptr<float>(), steps, threshold_, polyphonic_)) {
        add(track, offset + n.start, smf_event_new_from_bytes(0x90 | channel_, n.pitch, velocity_));
        add(track, offset + n.end, smf_event_new_from_bytes(0x80 | channel_, n.pitch, 0));
      }
      offset += steps + (r + 1 < rows ? gap_ * kSteps : 0);
    }
    if (smf_track_add_eot_pulses(track, static_cast<int>(offset * kStepPulses)) != 0 ||
        smf_save(smf.get(), path.c_str()) != 0)
      throw std::runtime_error(path + ": libsmf could not write the file");
  }

 private:
  double tempo_;
  int program_, channel_, velocity_;
  float threshold_;
  bool polyphonic_;
  int64_t gap_, rows_;
};

}  // namespace ganglion::midi

void register_midi_file_writer(ganglion::TypeRegistrar& r) {
  r.add(ganglion::node_type<ganglion::midi::MidiFileWriter>());
}
