// Live MIDI through real RtMidi ports: a JACK server with its dummy driver (Debian's jackd1, no
// sound card needed) started for each test under a name of its own, the test's own virtual ports
// on it, and the `ganglion` executable playing a file, streaming generated bars, and answering a
// bar the test plays to it.
#include <RtMidi.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "midi/midi_song.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace ganglion;
using ganglion::test::contains;

namespace {

const std::string kMidi = std::string(GANGLION_SOURCE_DIR) + "/data-cache/midi";

void keep_error(RtMidiError::Type, const std::string& text, void* kept) {
  *static_cast<std::string*>(kept) = text;
}

/// `jackd -d dummy` under a server name of this process's, which clients (this process's and the
/// CLI's it starts) find through JACK_DEFAULT_SERVER; stopped when the test ends.
class JackServer {
 public:
  JackServer() {
    name_ = "ganglion-test-" + std::to_string(::getpid());
    ::setenv("JACK_DEFAULT_SERVER", name_.c_str(), 1);
    ::setenv("JACK_NO_AUDIO_RESERVATION", "1", 1);
    // jackd 0.126 opens its metadata database in the default server's folder whatever the name.
    fs::create_directories("/dev/shm/jack-" + std::to_string(::getuid()) + "/default");
    const std::string log = test::write_temp("jackd.log", "");
    std::fflush(nullptr);  // or the child writes this process's buffered output again
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      if (!std::freopen(log.c_str(), "w", stdout) || !std::freopen(log.c_str(), "w", stderr)) ::_exit(126);
      ::execlp("jackd", "jackd", "-n", name_.c_str(), "-r", "-d", "dummy", "-r", "48000", "-p", "1024",
               static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100 && !runs(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::string why =
        "jackd -d dummy did not start (install Debian's jackd1; scripts/setup.sh does): " +
        test::read_file(log);
    REQUIRE_MESSAGE(runs(), why);
  }
  ~JackServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  static bool runs() {
    // libjack prints its own lines while no server answers yet.
    const int saved = ::dup(2), null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::close(null);
    struct Restore {
      int fd;
      ~Restore() { ::dup2(fd, 2), ::close(fd); }
    } restore{saved};
    std::string error;
    try {
      RtMidiIn probe(RtMidi::UNIX_JACK, "ganglion-test-probe");
      probe.setErrorCallback(&keep_error, &error);
      probe.getPortCount();
    } catch (const RtMidiError&) {
      return false;
    }
    return error.empty();
  }

 private:
  std::string name_;
  pid_t pid_ = -1;
};

/// A virtual input port of the test's own ("ganglion-test:listen"), which the CLI plays to.
struct Listener {
  Listener() : in(RtMidi::UNIX_JACK, "ganglion-test") {
    in.setErrorCallback(&keep_error, &error);
    in.openVirtualPort("listen");
  }
  /// The pitches of the note-ons that arrive, waiting up to `quiet` after the last one.
  std::vector<int> note_ons(std::chrono::milliseconds quiet) {
    std::vector<int> pitches;
    std::vector<unsigned char> m;
    auto last = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - last < quiet) {
      in.getMessage(&m);
      if (m.empty()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        continue;
      }
      last = std::chrono::steady_clock::now();
      if (m.size() == 3 && (m[0] & 0xF0) == 0x90 && m[2] > 0) pitches.push_back(m[1]);
    }
    return pitches;
  }
  RtMidiIn in;
  std::string error;
};

std::vector<int> note_on_pitches(const std::string& file, double before_seconds = 1e9) {
  std::vector<int> pitches;
  for (const auto& e : midi::read_timed_events(file))
    if (e.seconds < before_seconds && e.bytes.size() == 3 && (e.bytes[0] & 0xF0) == 0x90 && e.bytes[2] > 0)
      pitches.push_back(e.bytes[1]);
  return pitches;
}

/// midinet-3 trained two iterations on a few real files: its graph and run directory.
std::pair<std::string, std::string> small_midinet() {
  auto g = test::shipped_graph("midinet-3");
  g.erase("$schema");
  for (const char* node : {"batch", "test"}) {
    g["nodes"][node]["params"]["folder"] = kMidi + "/openmsx";
    g["nodes"][node]["params"]["files"] = 3;
    g["nodes"][node]["params"]["batch"] = 4;
  }
  g["outputs"].erase("eval");
  g["outputs"]["checkpoint"] = {{"every", 2}};
  const std::string graph = test::write_temp("live-midinet.json", g.dump());
  const std::string run = test::temp_dir("live-midinet-run");
  const auto r = test::run_cli({"run", graph, "--out", run, "--steps", "2", "--threads", "1"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return {graph, run};
}

}  // namespace

TEST_CASE("MidiLive.WithoutABackEndTheCommandsSaySo") {
  ::setenv("JACK_DEFAULT_SERVER", ("ganglion-none-" + std::to_string(::getpid())).c_str(), 1);
  auto r = test::run_cli({"midi", "ports"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "no MIDI back end"));
  CHECK(contains(r.err, "jackd -d dummy"));
  r = test::run_cli({"midi", "ports", "--midi-api", "jack"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "no JACK server runs"));
  r = test::run_cli({"midi", "ports", "--midi-api", "coreaudio"});
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "use auto, alsa or jack"));
}

TEST_CASE("MidiLive.PlayReachesARealPort") {
  JackServer jack;
  Listener listener;
  const auto ports = test::run_cli({"midi", "ports"});
  REQUIRE_MESSAGE(ports.exit_code == 0, ports.err);
  CHECK(contains(ports.out, "MIDI through jack"));
  CHECK(contains(ports.out, "ganglion-test:listen"));
  // A real song, played eight times as fast: its first eight seconds' notes first, then all.
  const std::string song =
      kMidi + "/openmsx/" + fs::path(midi::midi_files(kMidi + "/openmsx").front()).filename().string();
  const auto want = note_on_pitches(song, 8.0);
  REQUIRE(want.size() > 10);
  std::thread player([&] {
    const auto r = test::run_cli({"play", song, "--port", "ganglion-test:listen", "--speed", "8"});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
  });
  const auto got = listener.note_ons(std::chrono::milliseconds(3000));
  player.join();
  REQUIRE(got.size() >= want.size());
  CHECK(std::vector<int>(got.begin(), got.begin() + want.size()) == want);
  CHECK(got == note_on_pitches(song));
  const auto missing = test::run_cli({"play", song, "--port", "nowhere"});
  CHECK(missing.exit_code == 2);
  CHECK(contains(missing.err, "no MIDI output port has that name"));
  CHECK(contains(missing.err, "ganglion-test:listen"));
  const auto broken = test::run_cli({"play", test::write_temp("broken.mid", "MThd"), "--port", "listen"});
  CHECK(broken.exit_code == 2);
  CHECK(contains(broken.err, "at byte 0"));
}

TEST_CASE("MidiLive.SampleStreamsBarsAndAnswersABarPlayedToIt") {
  REQUIRE_MESSAGE(fs::is_directory(kMidi), "run scripts/fetch-data.sh");
  const auto [graph, run] = small_midinet();
  JackServer jack;
  Listener listener;
  // Two bars streamed as they are made, the first row's: the same notes as the file written.
  const std::string out = test::temp_dir("live-out") + "/melody.mid";
  std::thread sampler([&] {
    const auto r =
        test::run_cli({"sample", graph, "--checkpoint", run, "--grid", "melody", "--bars", "2", "--chords",
                       "C,Am", "--midi-out", "listen", "--tempo", "400", "--out", out});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(contains(r.out, "bar 2"));
  });
  const auto streamed = listener.note_ons(std::chrono::milliseconds(4000));
  sampler.join();
  REQUIRE(fs::is_regular_file(out));
  const auto written = note_on_pitches(out, 2 * 4 * 60.0 / 120);  // the file is at the writer's 120 bpm
  CHECK(!written.empty());
  CHECK(streamed == written);

  // A bar played on the test's keyboard port; the model answers with a bar.
  RtMidiOut keys(RtMidi::UNIX_JACK, "ganglion-test-keys");
  keys.openVirtualPort("keys");
  const std::string answer = test::temp_dir("live-answer") + "/answer.mid";
  std::atomic<bool> done{false};
  std::thread answering([&] {
    const auto r = test::run_cli({"sample", graph, "--checkpoint", run, "--grid", "melody", "--bars", "1",
                                  "--midi-in", "ganglion-test-keys:keys", "--midi-out",
                                  "ganglion-test:listen", "--tempo", "400", "--out", answer});
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(contains(r.out, "play a bar on"));
    done = true;
  });
  // The CLI connects when it is ready: play the bar (C E G C, a sixteenth apart) until it answers.
  std::vector<int> heard;
  for (int attempt = 0; attempt < 60 && !done; ++attempt) {
    for (int pitch : {60, 64, 67, 72}) {
      std::vector<unsigned char> on{0x90, static_cast<unsigned char>(pitch), 90},
          off{0x80, static_cast<unsigned char>(pitch), 0};
      keys.sendMessage(&on);
      std::this_thread::sleep_for(std::chrono::milliseconds(35));
      keys.sendMessage(&off);
    }
    const auto got = listener.note_ons(std::chrono::milliseconds(900));
    heard.insert(heard.end(), got.begin(), got.end());
  }
  answering.join();
  REQUIRE(fs::is_regular_file(answer));
  CHECK(heard == note_on_pitches(answer, 4 * 60.0 / 120));
}
