#include "melody_sampling.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <ganglion/plugin.h>
#include "ganglion/engine/executor.h"
#include "ganglion/engine/graph.h"
#include "ganglion/engine/plugin_registry.h"
#include "ganglion/engine/trainer.h"
#include "ganglion/engine/user_error.h"
#include "midi/midi_song.h"
#include "midi/piano_roll.h"
#include "midi/roll_notes.h"
#include "midi_ports.h"

namespace fs = std::filesystem;

namespace ganglion::cli {

namespace {

using clock_type = std::chrono::steady_clock;

volatile std::sig_atomic_t g_interrupted = 0;
void on_interrupt(int) { g_interrupted = 1; }

/// SIGINT and SIGTERM stop playing cleanly (every note silenced) while this lives.
struct InterruptGuard {
  InterruptGuard() {
    g_interrupted = 0;
    previous_int = std::signal(SIGINT, on_interrupt);
    previous_term = std::signal(SIGTERM, on_interrupt);
  }
  ~InterruptGuard() {
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
  }
  void (*previous_int)(int);
  void (*previous_term)(int);
};

/// `seconds` after `start`.
clock_type::time_point after(clock_type::time_point start, double seconds) {
  return start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

/// Sleeps until `when`, in short naps so that Ctrl-C is heard; false when interrupted.
bool wait_until(clock_type::time_point when) {
  while (clock_type::now() < when) {
    if (g_interrupted) return false;
    std::this_thread::sleep_for(
        std::min<clock_type::duration>(when - clock_type::now(), std::chrono::milliseconds(5)));
  }
  return !g_interrupted;
}

/// Plays a roll ([16 * bars, 128] in [0, 1]) to `out` at `tempo`, from `start` on; false when
/// interrupted.
bool play_roll(midi::Output& out, const torch::Tensor& roll, double tempo, clock_type::time_point start) {
  const auto values = roll.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const double step_seconds = 60.0 / tempo / 4;
  struct Message {
    int64_t step;
    std::vector<unsigned char> bytes;
  };
  std::vector<Message> messages;
  for (const auto& n :
       ganglion::midi::notes_from_roll(values.data_ptr<float>(), values.size(0), 0.5f, false)) {
    messages.push_back({n.start, {0x90, static_cast<unsigned char>(n.pitch), 100}});
    messages.push_back({n.end, {0x80, static_cast<unsigned char>(n.pitch), 0}});
  }
  // Note-offs before note-ons at the same step.
  std::stable_sort(messages.begin(), messages.end(), [](const Message& a, const Message& b) {
    return a.step != b.step ? a.step < b.step : (a.bytes[0] == 0x80) > (b.bytes[0] == 0x80);
  });
  for (const auto& m : messages) {
    if (!wait_until(after(start, double(m.step) * step_seconds))) return false;
    out.send(m.bytes);
  }
  return wait_until(after(start, double(values.size(0)) * step_seconds));
}

/// What a person played (messages timed from the first note-on) as MidiNet's bar: the notes
/// placed at `tempo` as a 4/4 bar of a song and encoded as the training data is.
torch::Tensor bar_from_playing(const std::vector<midi::TimedMessage>& played, double tempo) {
  ganglion::midi::Song song;
  song.ppqn = 480;
  const double pulses_per_second = 480 * tempo / 60;
  const int64_t bar_end = 4 * 480;
  // Every channel is one part, as a keyboard's notes are one melody.
  ganglion::midi::NotePairing pairing(0, &song.notes);
  for (const auto& m : played) {
    if (m.bytes.size() < 3) continue;
    const unsigned char bytes[3] = {static_cast<unsigned char>(m.bytes[0] & 0xF0), m.bytes[1], m.bytes[2]};
    pairing.message(bytes, 3,
                    std::min<int64_t>(bar_end, static_cast<int64_t>(m.at * pulses_per_second + 0.5)));
  }
  pairing.finish(bar_end);
  ganglion::midi::sort_notes(song.notes);
  song.length = bar_end;
  auto roll = torch::zeros({1, ganglion::midi::kSteps, ganglion::midi::kPitches});
  const auto encoded = ganglion::midi::encode_song(song, ganglion::midi::PartChoice{}, 60, 2);
  if (!encoded.bars.empty()) ganglion::midi::fill_roll(encoded.bars[0], roll.data_ptr<float>());
  return roll;
}

/// The outputs --chords sets: every source output named "chord" of 13 numbers a row.
std::vector<PortRef> chord_ports(const Graph& graph) {
  std::vector<PortRef> ports;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const auto& n = graph.nodes[i];
    if (n.kind() != NodeKind::Source || !n.type) continue;
    const PortSpec* out = n.type->contract.find_output("chord");
    if (out && out->dimensions().size() == 2 && out->dimensions()[1] == "13")
      ports.push_back({static_cast<int>(i), "chord"});
  }
  return ports;
}

}  // namespace

bool wants_melody_sampling(const ParsedArgs& args) {
  for (const char* option : {"bars", "chords", "midi-out", "midi-in", "tempo", "rounds", "midi-api"})
    if (args.has(option)) return true;
  return false;
}

int run_melody_sampling(const ParsedArgs& args, Executor& executor, const Graph& graph,
                        const SamplesSpec& grid, const std::string& run_dir, std::int64_t step) {
  for (const char* option : {"tempo", "midi-api"})
    if (args.has(option) && !args.has("midi-out") && !args.has("midi-in"))
      throw UserError(std::string("--") + option + " goes with --midi-out or --midi-in");
  if (args.has("rounds") && !args.has("midi-in")) throw UserError("--rounds goes with --midi-in");
  if (args.has("midi-in") && !args.has("midi-out"))
    throw UserError("--midi-in: the answer is played, so give --midi-out PORT too");

  const std::string grid_name = grid.name.empty() ? "outputs.samples" : "grid \"" + grid.name + "\"";
  if (grid.sequence.steps == 0)
    throw UserError(
        graph.file + ": --bars, --chords, --midi-in and --midi-out draw a sequence, and " + grid_name +
        " is none (give it \"sequence\": {\"steps\": 8, \"feed\": {...}}, or pick one with --grid)");
  if (args.has("count")) throw UserError("--count: a sequence draws one batch, row by row");
  const auto bars = static_cast<std::int64_t>(whole_option(args, "bars", grid.sequence.steps, 1, 100000));
  const double tempo = number_option(args, "tempo", 120, 20, 400);
  const std::string api = args.value("midi-api", "auto");
  SequenceHooks hooks;
  // --chords: the chord of bar k is the k-th (cycling), for every row.
  std::vector<ganglion::midi::Chord> chords;
  std::vector<PortRef> chord_refs;
  if (args.has("chords")) {
    chord_refs = chord_ports(graph);
    if (chord_refs.empty())
      throw UserError(graph.file + ": --chords: no source of this graph gives a \"chord\" of 13 numbers");
    std::string text = args.value("chords");
    for (size_t start = 0;;) {
      const size_t comma = text.find(',', start);
      try {
        chords.push_back(ganglion::midi::parse_chord(text.substr(start, comma - start)));
      } catch (const std::invalid_argument& e) {
        throw UserError(std::string("--chords: ") + e.what());
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  // The shapes the overrides must have: one plain draw of the outputs they replace.
  std::vector<PortRef> shaped = chord_refs;
  if (args.has("midi-in")) {
    if (grid.sequence.feed.empty())
      throw UserError(graph.file + ": --midi-in: " + grid_name +
                      "'s sequence feeds nothing back, so a bar played has nothing to condition");
    shaped.push_back(grid.sequence.feed.front().replaced);
  }
  std::vector<torch::Tensor> shapes = shaped.empty() ? std::vector<torch::Tensor>() : executor.sample(shaped);

  InterruptGuard guard;
  std::unique_ptr<midi::Output> out;
  std::unique_ptr<midi::Input> in;
  if (args.has("midi-out")) out = std::make_unique<midi::Output>(args.value("midi-out"), api);
  if (args.has("midi-in")) in = std::make_unique<midi::Input>(args.value("midi-in"), api);
  const long long rounds = in ? whole_option(args, "rounds", 1, 0, 1000000000) : 1;

  torch::Tensor seed;  // the bar played, [1, 16, 128]
  hooks.overrides = [&](std::int64_t k) {
    std::vector<std::pair<PortRef, at::Tensor>> o;
    for (size_t c = 0; c < chord_refs.size(); ++c) {
      const auto v = chords[k % chords.size()].vector();
      auto row = torch::from_blob(const_cast<float*>(v.data()), {1, 13}, torch::kFloat).clone();
      o.emplace_back(chord_refs[c], row.expand_as(shapes[c]).contiguous());
    }
    if (k == 0 && seed.defined()) {
      const auto& like = shapes.back();
      if (like.dim() != 4 || like.size(2) != seed.size(1) || like.size(3) != seed.size(2))
        throw UserError(graph.file + ": --midi-in: \"" +
                        graph.port_name(grid.sequence.feed.front().replaced) + "\" is " +
                        c10::str(like.sizes()) + ", not bars of 16 x 128");
      o.emplace_back(grid.sequence.feed.front().replaced, seed.unsqueeze(0).expand_as(like).contiguous());
    }
    return o;
  };
  auto next_bar = clock_type::now();
  if (out)
    hooks.on_step = [&](std::int64_t k, const std::vector<at::Tensor>& rows) {
      if (g_interrupted) return;
      const auto& bar = rows.front();  // row 0 of the batch is the one played
      if (bar.dim() != 4 || bar.size(3) != ganglion::midi::kPitches)
        throw UserError(graph.file + ": --midi-out plays rolls B,1,T,128; \"" +
                        graph.port_name(grid.rows.front()) + "\" gives " + c10::str(bar.sizes()));
      std::printf("bar %lld\n", static_cast<long long>(k + 1));
      std::fflush(stdout);
      play_roll(*out, bar[0][0], tempo, next_bar);
      next_bar = after(next_bar, double(bar.size(2)) * 60.0 / tempo / 4);
    };

  std::string target = args.value("out");
  if (target.empty())
    target =
        (fs::path(run_dir.empty() ? "." : run_dir) / ("sample-" + grid.file_stem(step) + ".mid")).string();
  for (long long round = 0; (rounds == 0 || round < rounds) && !g_interrupted; ++round) {
    if (in) {
      std::printf("play a bar on \"%s\" (%g bpm, the bar starts with your first note)\n", in->port().c_str(),
                  tempo);
      std::fflush(stdout);
      const auto played = in->record_after_first_note(4 * 60.0 / tempo, std::chrono::minutes(10));
      if (g_interrupted) break;
      if (played.empty())
        throw UserError("--midi-in: no note came from \"" + in->port() + "\" in 10 minutes");
      seed = bar_from_playing(played, tempo);
      next_bar = clock_type::now();
    }
    at::Tensor value;
    try {
      value = stack_grid_rows(graph, grid, sample_sequence(executor, graph, grid, bars, hooks));
    } catch (const NodeFailure& e) {
      throw UserError(graph.file, e.pointer(), e.what());
    }
    if (g_interrupted) break;
    std::string path = target;
    if (rounds != 1) {
      const fs::path t(target);
      path =
          (t.parent_path() / (t.stem().string() + "-" + std::to_string(round + 1) + t.extension().string()))
              .string();
    }
    try {
      write_samples(graph, grid, value, path);
    } catch (const NodeFailure& e) {
      throw UserError(path, "", e.what());
    }
    std::printf("wrote %s: %lld steps of %s at step %lld\n", path.c_str(), static_cast<long long>(bars),
                graph.port_name(grid.rows.front()).c_str(), static_cast<long long>(step));
  }
  if (g_interrupted) std::printf("stopped\n");
  return 0;
}

int midi_command(const ParsedArgs& args) {
  if (args.positional.front() != "ports")
    throw UserError("ganglion midi " + args.positional.front() + ": the only subcommand is ports");
  const midi::PortList ports = midi::list_ports(args.value("midi-api", "auto"));
  std::printf("MIDI through %s\n", ports.api.c_str());
  for (const bool inputs : {true, false}) {
    const auto& names = inputs ? ports.inputs : ports.outputs;
    std::printf("%s ports:%s\n", inputs ? "input" : "output", names.empty() ? " none" : "");
    for (const auto& n : names) std::printf("  %s\n", n.c_str());
  }
  return 0;
}

int play_command(const ParsedArgs& args) {
  const std::string file = args.positional.front();
  if (!args.has("port"))
    throw UserError("ganglion play: say where to play with --port NAME (`ganglion midi ports`)");
  std::vector<ganglion::midi::TimedEvent> events;
  try {
    events = ganglion::midi::read_timed_events(file);
  } catch (const std::invalid_argument& e) {
    throw UserError(e.what());
  }
  const double speed = number_option(args, "speed", 1, 0.01, 100);
  midi::Output out(args.value("port"), args.value("midi-api", "auto"));
  InterruptGuard guard;
  std::printf("playing %s to \"%s\" (%zu events, %.1f s)\n", file.c_str(), out.port().c_str(), events.size(),
              events.empty() ? 0.0 : events.back().seconds / speed);
  std::fflush(stdout);
  const auto start = clock_type::now();
  for (const auto& e : events) {
    if (!wait_until(after(start, e.seconds / speed))) break;
    out.send(e.bytes);
  }
  out.all_notes_off();
  std::printf(g_interrupted ? "stopped\n" : "done\n");
  return 0;
}

}  // namespace ganglion::cli
