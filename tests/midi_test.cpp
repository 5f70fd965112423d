// The midi plugin: Standard MIDI Files read (real ones from Debian's packages, and damaged ones),
// MidiNet's bars and chords, the .mid writer read back by another reader (mido), the statistics,
// MidiNet's nets, and the three MidiNet graphs trained from the CLI on a few real files.
#include <doctest/doctest.h>
#include <ganglion/node_runner.h>
#include <smf.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "midi/midi_song.h"
#include "midi/piano_roll.h"
#include "midi/roll_notes.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ganglion;
using ganglion::test::contains;

namespace {

const std::string kMidi = std::string(GANGLION_SOURCE_DIR) + "/data-cache/midi";

struct SmfDeleter {
  void operator()(smf_t* s) const { smf_delete(s); }
};

/// A note of a file written for a test: pitch, start and end in sixteenths, channel (0-based).
struct TestNote {
  int pitch;
  int start, end;
  int channel = 0;
};

/// Writes a format-1 file, 480 pulses per quarter: a tempo track with `meters` (pulse, numerator,
/// denominator), then a track per entry of `tracks`.
std::string write_song(const std::string& name, const std::vector<std::vector<TestNote>>& tracks,
                       const std::vector<std::array<int, 3>>& meters = {}) {
  std::unique_ptr<smf_t, SmfDeleter> smf(smf_new());
  REQUIRE(smf_set_ppqn(smf.get(), 480) == 0);
  smf_track_t* tempo = smf_track_new();
  smf_add_track(smf.get(), tempo);
  unsigned char set_tempo[] = {0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20};  // 500000 us: 120 bpm
  smf_track_add_event_pulses(tempo, smf_event_new_from_pointer(set_tempo, 6), 0);
  for (const auto& m : meters) {
    unsigned char sig[] = {0xFF,
                           0x58,
                           0x04,
                           static_cast<unsigned char>(m[1]),
                           static_cast<unsigned char>(m[2] == 8   ? 3
                                                      : m[2] == 2 ? 1
                                                                  : 2),
                           24,
                           8};
    smf_track_add_event_pulses(tempo, smf_event_new_from_pointer(sig, 7), m[0]);
  }
  for (const auto& notes : tracks) {
    smf_track_t* t = smf_track_new();
    smf_add_track(smf.get(), t);
    for (const auto& n : notes) {
      smf_track_add_event_pulses(t, smf_event_new_from_bytes(0x90 | n.channel, n.pitch, 90), n.start * 120);
      smf_track_add_event_pulses(t, smf_event_new_from_bytes(0x80 | n.channel, n.pitch, 0), n.end * 120);
    }
  }
  const std::string path = test::write_temp(name, "");
  REQUIRE(smf_save(smf.get(), path.c_str()) == 0);
  return path;
}

std::string bytes_of(const std::string& path) { return test::read_file(path); }

std::string write_bytes(const std::string& name, const std::string& bytes) {
  return test::write_temp(name, bytes);
}

std::string first_real_file() {
  const auto files = midi::midi_files(kMidi + "/openmsx");
  REQUIRE(!files.empty());
  return files.front();
}

/// /usr/bin/python3 with mido reads `path`; returns its exit code and what it printed.
std::pair<int, std::string> read_with_mido(const std::string& path) {
  const std::string out = test::write_temp("mido.txt", "");
  const std::string cmd =
      "/usr/bin/python3 -c \"import mido, sys; m = mido.MidiFile(sys.argv[1]); "
      "print(m.type, len(m.tracks), sum(1 for t in m.tracks for e in t if e.type == "
      "'note_on' and e.velocity > 0))\" '" +
      path + "' > '" + out + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  return {rc, test::read_file(out)};
}

}  // namespace

TEST_CASE("MidiSong.ReadsARealFileEveryTrack") {
  REQUIRE_MESSAGE(fs::is_directory(kMidi), "run scripts/fetch-data.sh");
  const auto files = midi::midi_files(kMidi);
  CHECK(files.size() == 31 + 53 + 63);
  const auto song = midi::read_song(first_real_file());
  CHECK(song.ppqn > 0);
  CHECK(song.tracks > 1);
  CHECK(song.notes.size() > 100);
  CHECK(song.tempo_bpm > 20);
  std::set<int> tracks;
  for (const auto& n : song.notes) {
    CHECK(n.end > n.start);
    tracks.insert(n.track);
  }
  CHECK(tracks.size() > 1);
  // Every file Debian ships reads.
  for (const auto& f : files) CHECK_MESSAGE(test::error_of([&] { midi::read_song(f); }).empty(), f);
}

TEST_CASE("MidiSong.ADamagedFileIsRefusedWithItsNameAndTheByteOffset") {
  const std::string good = bytes_of(first_real_file());
  REQUIRE(good.size() > 2000);
  const auto refused = [](const std::string& path) { return test::error_of([&] { midi::read_song(path); }); };
  // Cut short inside the second track: the chunk that runs past the end is named with its offset.
  const std::string cut = write_bytes("cut.mid", good.substr(0, 1500));
  std::string e = refused(cut);
  CHECK(contains(e, cut));
  CHECK(contains(e, "at byte "));
  CHECK(contains(e, "but the file ends at byte 1500"));
  // Not a MIDI file at all, empty, or a header alone.
  CHECK(contains(refused(write_bytes("junk.mid", "this is not music, only text")),
                 "at byte 0: no MThd header"));
  CHECK(contains(refused(write_bytes("empty.mid", "")), "at byte 0"));
  CHECK(contains(refused(write_bytes("header.mid", good.substr(0, 14))), "track 1 of"));
  // Events that do not parse inside a well-framed chunk: the chunk is named.
  std::string broken = good.substr(0, 14);
  broken[10] = 0, broken[11] = 1;  // one track
  broken +=
      std::string("MTrk\0\0\0\x04\x00\x90\x3C", 11) + std::string(1, '\x80');  // a delta that never ends
  e = refused(write_bytes("events.mid", broken));
  CHECK(contains(e, "at byte 25: track 1 of 1: a channel event's data byte is over 127"));
  // A track without its End of Track event (libsmf would abort the process on it).
  std::string open_end = good.substr(0, 14) + std::string("MTrk\0\0\0\x04\x00\x90\x3C\x40", 12);
  open_end[10] = 0, open_end[11] = 1;
  CHECK(contains(refused(write_bytes("open.mid", open_end)),
                 "at byte 26: track 1 of 1 ends without its End of Track"));
  // Every prefix of a real file is refused with a message, none crashes.
  for (size_t cut_at = 0; cut_at < 1200; cut_at += 7)
    CHECK(contains(refused(write_bytes("prefix.mid", good.substr(0, cut_at))), "at byte "));
  // Time in SMPTE frames.
  std::string smpte = good.substr(0, 14) + std::string("MTrk\0\0\0\x04\x00\xFF\x2F\x00", 12);
  smpte[10] = 0, smpte[11] = 1, smpte[12] = static_cast<char>(0xE7), smpte[13] = 40;
  CHECK(contains(refused(write_bytes("smpte.mid", smpte)), "SMPTE"));
  CHECK(contains(refused("/nonexistent/x.mid"), "cannot open"));
}

TEST_CASE("MidiSong.RunningStatusAndATypeZeroFileAreRead") {
  // Type 0, 96 pulses a quarter: C4 on, then (running status, no status byte) E4 on a quarter
  // later, C4 off by a note-on of velocity 0, E4 off, end of track.
  const std::string track(
      "\x00\x90\x3C\x40"
      "\x60\x40\x40"
      "\x00\x3C\x00"
      "\x60\x40\x00"
      "\x00\xFF\x2F\x00",
      17);
  std::string file = std::string("MThd\0\0\0\x06\0\0\0\x01\0\x60", 14) + "MTrk" + std::string(3, '\0') +
                     static_cast<char>(track.size()) + track;
  const auto song = midi::read_song(write_bytes("running.mid", file));
  CHECK(song.format == 0);
  CHECK(song.ppqn == 96);
  REQUIRE(song.notes.size() == 2);
  CHECK(song.notes[0].pitch == 60);
  CHECK(song.notes[0].end == 96);
  CHECK(song.notes[1].pitch == 64);
  CHECK(song.notes[1].start == 96);
  CHECK(song.notes[1].end == 192);
  const auto events = midi::read_timed_events(write_bytes("running.mid", file));
  REQUIRE(events.size() == 4);
  CHECK(events[1].seconds == doctest::Approx(0.5));  // 120 bpm when the file gives no tempo
}

TEST_CASE("MidiSong.MutatedFilesAreReadOrRefusedNeverCrash") {
  // Bytes changed, cut out and put in at random places of a real file: each copy either reads (and
  // encodes, and plays) or is refused with a message; none aborts the process or hangs.
  const std::string good = bytes_of(first_real_file());
  std::mt19937 rng(7);
  int refused = 0;
  for (int copy = 0; copy < 300; ++copy) {
    std::string b = good;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 6); k < n && !b.empty(); ++k) {
      const size_t at = rng() % b.size();
      const int how = static_cast<int>(rng() % 3);
      if (how == 0)
        b[at] = static_cast<char>(rng());
      else if (how == 1)
        b.erase(at, 1 + rng() % 4);
      else
        b.insert(at, 1, static_cast<char>(rng()));
    }
    const std::string path = write_bytes("mutated.mid", b);
    const std::string e = test::error_of([&] {
      const auto song = midi::read_song(path);
      midi::encode_song(song, midi::PartChoice{}, 60, 2);
      midi::read_timed_events(path);
    });
    if (!e.empty()) {
      ++refused;
      CHECK_MESSAGE(contains(e, path), e);
    }
  }
  CHECK(refused > 200);  // most changes break the framing
}

TEST_CASE("PianoRoll.TheMelodyIsThePartsHighestNoteFoldedIntoTwoOctaves") {
  // Track 1: a low accompaniment; track 2: the melody (more notes from C4 up), with a chord of two
  // notes at the start whose higher note wins, and notes far above and below the range.
  const std::string path = write_song(
      "melody.mid",
      {{{48, 0, 16}, {52, 0, 16}, {55, 0, 16}},
       {{64, 0, 4}, {67, 0, 4}, {72, 4, 8}, {98, 8, 10}, {40, 10, 12}, {62, 12, 16}, {65, 16, 20}}});
  const auto song = midi::encode_song(midi::read_song(path), midi::PartChoice::parse("auto"), 60, 2);
  CHECK(song.track == 2);
  REQUIRE(song.bars.size() == 2);
  const auto& bar = song.bars[0];
  CHECK(bar.pitch[0] == 67);  // G4 over E4
  CHECK(bar.pitch[4] == 72);
  CHECK(bar.pitch[8] == 74);   // D7 (98) folded down two octaves
  CHECK(bar.pitch[10] == 64);  // E2 (40) folded up two octaves
  CHECK(bar.pitch[12] == 62);
  CHECK_FALSE(bar.follows);
  CHECK(song.bars[1].follows);
  CHECK(song.bars[1].pitch[0] == 65);
  CHECK(song.bars[1].pitch[4] == -1);
  // C-E-G held under the bar, with melody notes E, G, C, D: C major.
  CHECK(bar.chord.name() == "C");
  // Choosing the accompaniment's track instead.
  const auto low = midi::encode_song(midi::read_song(path), midi::PartChoice::parse("1"), 60, 2);
  CHECK(low.bars[0].pitch[0] == 67);  // G3 folded up an octave
  CHECK(contains(test::error_of([] { midi::PartChoice::parse("x"); }), "param part"));
  CHECK(contains(test::error_of([] { midi::PartChoice::parse("1:17"); }), "channel from 1 to 16"));
  // A note 17 hours in (a damaged delta time, say): refused rather than 100,000 bars of silence.
  const std::string endless = write_song("endless.mid", {{{60, 0, 4}, {62, 1700000, 1700004}}});
  CHECK(contains(test::error_of([&] { midi::encode_song(midi::read_song(endless), {}, 60, 2); }),
                 "lasts over 100,000 bars"));
}

TEST_CASE("PianoRoll.ChordsAreEstimatedAndABarOfAnotherMeterBreaksTheChain") {
  // A minor (A C E) then F major (F A C) in 4/4, then a 3/4 bar, then 4/4 again with an empty bar.
  const std::string path = write_song("chords.mid",
                                      {{{57, 0, 16},
                                        {60, 0, 16},
                                        {64, 0, 16},
                                        {65, 16, 32},
                                        {69, 16, 32},
                                        {72, 16, 32},
                                        {70, 32, 44},
                                        {72, 44, 60}}},
                                      {{0, 4, 4}, {32 * 120, 3, 4}, {44 * 120, 4, 4}});
  const auto song = midi::encode_song(midi::read_song(path), midi::PartChoice::parse("auto"), 60, 2);
  CHECK(song.other_meter_bars == 1);
  REQUIRE(song.bars.size() >= 3);
  CHECK(song.bars[0].chord.name() == "Am");
  CHECK(song.bars[1].chord.name() == "F");
  CHECK(song.bars[1].follows);
  CHECK_FALSE(song.bars[2].follows);  // after the 3/4 bar
  const auto v = song.bars[0].chord.vector();
  CHECK(v[9] == 1);
  CHECK(v[12] == 1);
  CHECK(midi::parse_chord("F#m").name() == "F#m");
  CHECK(midi::parse_chord("Bb").root == 10);
  CHECK(midi::parse_chord("-").root == -1);
  CHECK(contains(test::error_of([] { midi::parse_chord("H7"); }), "is not a chord"));
  CHECK(midi::Chord{}.vector()[0] == 0);
}

TEST_CASE("MidiBars.RowsFromAFolderSplitByFileAndSkipADamagedOne") {
  const std::string folder = test::temp_dir("midi-bars");
  for (int i = 0; i < 4; ++i)
    fs::copy_file(write_song("song.mid", {{{60 + i, 0, 4}, {64, 4, 8}, {67, 16, 24}, {72, 32, 40}}}),
                  folder + "/song" + std::to_string(i) + ".mid");
  std::ofstream(folder + "/zz-damaged.mid") << "MThd, but nothing after";
  NodeRunner train(R"({"type": "midi/bars", "params": {"folder": ")" + folder +
                   R"(", "split": "train", "test_every": 2, "batch": 2, "shuffle": false}})");
  auto rows = train.run();
  CHECK(rows.at("bar").sizes() == torch::IntArrayRef({2, 1, 16, 128}));
  CHECK(rows.at("chord").sizes() == torch::IntArrayRef({2, 13}));
  // song0's first bar (C4 then E4), and its second whose previous bar is the first.
  CHECK(rows.at("bar")[0][0][0][60].item<float>() == 1);
  CHECK(rows.at("bar")[0][0][4][64].item<float>() == 1);
  CHECK(rows.at("previous")[0].sum().item<float>() == 0);
  CHECK(torch::equal(rows.at("previous")[1], rows.at("bar")[0]));
  // Files 1 and 3 (and the damaged 4th, index 4, on the training side) are held out: by song.
  NodeRunner test(R"({"type": "midi/bars", "params": {"folder": ")" + folder +
                  R"(", "split": "test", "test_every": 2, "batch": 1, "shuffle": false}})");
  CHECK(test.run().at("bar")[0][0][0][61].item<float>() == 1);
  // A folder of damaged files only.
  const std::string bad = test::temp_dir("midi-bars-bad");
  std::ofstream(bad + "/a.mid") << "not midi";
  const auto e = test::error_of([&] {
    NodeRunner r(R"({"type": "midi/bars", "params": {"folder": ")" + bad +
                 R"(", "split": "all", "quiet": true}})");
    r.run();
  });
  CHECK(contains(e, "gave a bar of melody (1 were damaged)"));
  const auto none = test::error_of([&] {
    NodeRunner r(R"({"type": "midi/bars", "params": {"folder": ")" + test::temp_dir("midi-empty") + R"("}})");
    r.run();
  });
  CHECK(contains(none, "holds no .mid or .midi file"));
}

TEST_CASE("MidiFile.WrittenBarsReadBackTheSameHereAndInMido") {
  auto rolls = torch::zeros({2, 1, 32, 128});
  rolls[0][0].index_put_({torch::indexing::Slice(0, 4), 60}, 0.9);  // C4 for a quarter
  rolls[0][0][4][62] = 0.7;
  rolls[0][0][4][50] = 0.6;  // weaker: not the melody's
  rolls[0][0][20][67] = 0.8;
  rolls[1][0][0][72] = 0.4;  // under the threshold
  rolls[1][0][1][71] = 1.0;
  NodeRunner writer(R"({"type": "midi/file", "params": {"tempo": 90, "program": 40}})");
  writer.input("value", rolls);
  const std::string path = writer.write(test::temp_dir("midi-writer") + "/bars");
  CHECK(path.size() > 4);
  CHECK(path.substr(path.size() - 4) == ".mid");
  const auto song = midi::read_song(path);
  CHECK(song.tempo_bpm == doctest::Approx(90).epsilon(0.01));
  REQUIRE(song.notes.size() == 4);
  CHECK(song.notes[0].pitch == 60);
  CHECK(song.notes[0].end - song.notes[0].start == 480);
  CHECK(song.notes[1].pitch == 62);
  CHECK(song.notes[2].pitch == 67);
  // Row 2 starts after row 1's two bars and a bar of rest.
  CHECK(song.notes[3].pitch == 71);
  CHECK(song.notes[3].start == (48 + 1) * 120);
  const auto [rc, out] = read_with_mido(path);
  REQUIRE_MESSAGE(rc == 0, out);
  CHECK(out == "0 1 4\n");
}

TEST_CASE("MidiMetrics.StatisticsAndChordTonesOfKnownBars") {
  auto bars = torch::zeros({3, 1, 16, 128});
  // Bar 0: C E G C (in C major, three pitch classes, four notes); bar 1: empty; bar 2: C C# (two
  // notes, one out of every major scale that holds C... C# is in Db major, which holds both).
  for (int s = 0; s < 4; ++s) bars[0][0][s * 4][std::vector<int>{60, 64, 67, 72}[s]] = 1;
  bars[2][0][0][60] = 1;
  bars[2][0][8][61] = 1;
  NodeRunner stats(R"({"type": "midi/bar-statistics"})");
  stats.input("bar", bars);
  const auto s = stats.run();
  CHECK(s.at("empty_rate").item<float>() == doctest::Approx(1.0 / 3));
  CHECK(s.at("notes_per_bar").item<float>() == doctest::Approx(2.0));
  CHECK(s.at("pitch_classes").item<float>() == doctest::Approx((3 + 2) / 2.0));
  CHECK(s.at("in_scale").item<float>() == doctest::Approx(1.0));
  auto chords = torch::zeros({3, 13});
  chords[0][0] = 1;  // C: all four notes are its tones
  chords[2][9] = 1;  // A minor: C is, C# is not
  chords[2][12] = 1;
  NodeRunner tones(R"({"type": "midi/chord-tones"})");
  tones.input("bar", bars).input("chord", chords);
  CHECK(tones.run().at("chord_tones").item<float>() == doctest::Approx(5.0 / 6));
}

TEST_CASE("MidinetNets.TheConnectedInputsPickThePapersModel") {
  const auto z = torch::randn({4, 100});
  const auto previous = (torch::rand({4, 1, 16, 128}) > 0.95).to(torch::kFloat);
  const auto chord = torch::zeros({4, 13});
  for (int model = 1; model <= 3; ++model) {
    NodeRunner g(R"({"type": "nets/midinet-generator"})");
    g.input("z", z);
    if (model >= 2) g.input("previous", previous);
    if (model == 3) g.input("chord", chord);
    const auto bar = g.run().at("bar");
    CHECK(bar.sizes() == torch::IntArrayRef({4, 1, 16, 128}));
    CHECK(bar.min().item<float>() >= 0);
    CHECK(bar.max().item<float>() <= 1);
    // The previous bar changes the output only where the conditioner is there to read it.
    if (model >= 2) {
      g.input("previous", torch::zeros({4, 1, 16, 128}));
      g.module().eval();
      const auto a = g.run().at("bar");
      g.input("previous", previous);
      CHECK_FALSE(torch::allclose(a, g.run().at("bar")));
    }
  }
  NodeRunner d(R"({"type": "nets/midinet-discriminator"})");
  d.input("bar", previous).input("chord", chord);
  const auto out = d.run();
  CHECK(out.at("logits").sizes() == torch::IntArrayRef({4}));
  CHECK(out.at("features").sizes() == torch::IntArrayRef({4, 14 * 8}));
  NodeRunner wrong(R"({"type": "nets/midinet-generator", "params": {"z_dim": 8}})");
  wrong.input("z", z);
  CHECK(contains(test::error_of([&] { wrong.run(); }), "param z_dim is 8"));
}

TEST_CASE("Midinet.TheThreeGraphsTrainOnAFewRealFilesAndWriteMidi") {
  REQUIRE_MESSAGE(fs::is_directory(kMidi), "run scripts/fetch-data.sh");
  for (const char* name : {"midinet-1", "midinet-2", "midinet-3"}) {
    CAPTURE(name);
    auto g = test::shipped_graph(name);
    g.erase("$schema");
    g["nodes"]["batch"]["params"]["folder"] = kMidi + "/openmsx";
    g["nodes"]["batch"]["params"]["files"] = 4;
    g["nodes"]["batch"]["params"]["batch"] = 8;
    g["nodes"]["test"]["params"]["folder"] = kMidi + "/openmsx";
    g["nodes"]["test"]["params"]["files"] = 2;
    g["nodes"]["test"]["params"]["batch"] = 8;
    g["outputs"]["eval"] = {{"every", 3}, {"samples", 16}};
    g["outputs"]["checkpoint"] = {{"every", 3}};
    g["outputs"]["log"] = {{"every", 1}};
    for (auto& [grid, spec] : g["outputs"]["samples"].items()) spec["every"] = 3;
    const std::string graph = test::write_temp(std::string(name) + ".json", g.dump());
    const std::string run = test::temp_dir(std::string(name) + "-run");
    const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "3", "--threads", "1"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(contains(r.out + r.err, "generated.empty_rate"));
    CHECK(contains(r.out + r.err, "held_out.notes_per_bar"));
    const std::string mid = run + "/samples/melody-step-00000003.mid";
    REQUIRE(fs::is_regular_file(mid));
    CHECK(midi::read_song(mid).ppqn == 480);
    CHECK(read_with_mido(mid).first == 0);
    if (std::string(name) != "midinet-3") continue;
    // A melody of three bars over chords the user gives: the grid's four rows of three bars.
    const std::string song = run + "/song.mid";
    auto s = test::run_cli({"sample", graph, "--checkpoint", run, "--grid", "melody", "--bars", "3",
                            "--chords", "C,Am", "--out", song});
    REQUIRE_MESSAGE(s.exit_code == 0, s.err);
    CHECK(contains(s.out, "3 steps of fake"));
    CHECK(midi::read_song(song).length <= (4 * 3 + 3) * 16 * 120);
    const auto mistake = [&](std::vector<std::string> extra, const std::string& says) {
      std::vector<std::string> a{"sample", graph, "--checkpoint", run};
      a.insert(a.end(), extra.begin(), extra.end());
      const auto r2 = test::run_cli(a);
      CHECK(r2.exit_code == 2);
      CHECK_MESSAGE(contains(r2.err, says), r2.err);
    };
    mistake({"--grid", "roll", "--bars", "2"}, "grid \"roll\" is none");
    mistake({"--grid", "melody", "--chords", "C,X"}, "--chords: \"X\" is not a chord");
    mistake({"--grid", "melody", "--tempo", "90"}, "--tempo goes with --midi-out or --midi-in");
    mistake({"--grid", "melody", "--bars", "2", "--rounds", "2"}, "--rounds goes with --midi-in");
    mistake({"--grid", "melody", "--midi-in", "keys"}, "give --midi-out PORT too");
    mistake({"--grid", "melody", "--bars", "0"}, "--bars 0: expected a number from 1");
  }
}
