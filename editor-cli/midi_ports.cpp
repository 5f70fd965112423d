#include "midi_ports.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include "ganglion/engine/user_error.h"

#ifdef GANGLION_HAVE_RTMIDI
#include <RtMidi.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace ganglion::cli::midi {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// The one of `names` that `wanted` names: itself, else the only one holding it (any case).
size_t choose_port(const std::vector<std::string>& names, const std::string& wanted, bool inputs) {
  const std::string kind = inputs ? "input" : "output";
  const auto listed = [&] {
    std::string all;
    for (const auto& n : names) all += (all.empty() ? "" : ", ") + ("\"" + n + "\"");
    return names.empty() ? "there is none" : "they are " + all;
  };
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == wanted) return i;
  std::vector<size_t> hits;
  for (size_t i = 0; i < names.size(); ++i)
    if (lower(names[i]).find(lower(wanted)) != std::string::npos) hits.push_back(i);
  if (hits.size() == 1) return hits.front();
  throw UserError("--" + std::string(inputs ? "midi-in" : "port") + " \"" + wanted + "\": " +
                  (hits.empty() ? "no MIDI " + kind + " port has that name (" + listed() + ")"
                                : "several MIDI " + kind + " ports hold that name (" + listed() + ")") +
                  "; `ganglion midi ports` lists them");
}

}  // namespace

#ifdef GANGLION_HAVE_RTMIDI

namespace {

const char* const kNoBackend =
    "no MIDI back end: ALSA's sequencer (/dev/snd/seq) is missing and no JACK server runs; load the "
    "snd-seq module, or start JACK (`jackd -d dummy` from Debian's jackd1 needs no sound card)";

/// Errors RtMidi reports through its callback (a JACK client that finds no server) are kept here
/// rather than printed.
void keep_error(RtMidiError::Type, const std::string& text, void* kept) {
  *static_cast<std::string*>(kept) = text;
}

RtMidi::Api api_of(const std::string& name) {
  if (name == "alsa") return RtMidi::LINUX_ALSA;
  if (name == "jack") return RtMidi::UNIX_JACK;
  throw UserError("--midi-api \"" + name + "\": use auto, alsa or jack");
}

/// Standard error sent to /dev/null while this lives: libjack prints its own lines when it finds
/// no server, and the probe's answer says it better.
struct QuietStderr {
  QuietStderr() : saved(dup(2)) {
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 2), close(null);
  }
  ~QuietStderr() {
    if (saved >= 0) dup2(saved, 2), close(saved);
  }
  int saved;
};

bool jack_server_runs() {
  const QuietStderr quiet;
  std::string error;
  try {
    RtMidiIn probe(RtMidi::UNIX_JACK, "ganglion-probe");
    probe.setErrorCallback(&keep_error, &error);
    probe.getPortCount();
  } catch (const RtMidiError& e) {
    return false;
  }
  return error.empty();
}

bool alsa_opens() {
  struct stat st;
  if (stat("/dev/snd/seq", &st) != 0) return false;
  try {
    RtMidiIn probe(RtMidi::LINUX_ALSA, "ganglion-probe");
    return true;
  } catch (const RtMidiError&) {
    return false;
  }
}

/// The API `api` names: "auto" is "alsa" where its sequencer opens, else "jack" where a server runs.
std::string resolve_api(const std::string& api) {
  if (api == "alsa") {
    if (!alsa_opens())
      throw UserError(
          "--midi-api alsa: ALSA's sequencer (/dev/snd/seq) cannot be opened; load the snd-seq "
          "module, or use --midi-api jack with a JACK server running");
    return api;
  }
  if (api == "jack") {
    if (!jack_server_runs())
      throw UserError(
          "--midi-api jack: no JACK server runs; start one (`jackd -d dummy` needs no sound card)");
    return api;
  }
  if (api != "auto") api_of(api);
  if (alsa_opens()) return "alsa";
  if (jack_server_runs()) return "jack";
  throw UserError(kNoBackend);
}

/// An RtMidi client of `api` (resolved: alsa or jack) whose errors are kept, or a UserError saying
/// why there is none.
template <class Port>
std::unique_ptr<Port> open_client(const std::string& api, std::string* errors) {
  try {
    auto port = std::make_unique<Port>(api_of(api), "ganglion");
    port->setErrorCallback(&keep_error, errors);
    port->getPortCount();
    if (!errors->empty()) throw UserError("MIDI (" + api + "): " + *errors);
    return port;
  } catch (const RtMidiError& e) {
    throw UserError("MIDI (" + api + "): " + e.getMessage());
  }
}

template <class Port>
std::vector<std::string> names_of(Port& port) {
  std::vector<std::string> names;
  for (unsigned i = 0; i < port.getPortCount(); ++i) names.push_back(port.getPortName(i));
  return names;
}

/// A client of `api` connected to the port `name` names (inputs: a port that sends to us), whose
/// full name goes to `port`.
template <class Port>
std::unique_ptr<Port> connect(const std::string& name, const std::string& api, bool inputs,
                              std::string* errors, std::string* port) {
  auto client = open_client<Port>(resolve_api(api), errors);
  const auto names = names_of(*client);
  const size_t i = choose_port(names, name, inputs);
  *port = names[i];
  client->openPort(static_cast<unsigned>(i), inputs ? "in" : "out");
  if (!errors->empty()) throw UserError("MIDI port \"" + *port + "\": " + *errors);
  return client;
}

}  // namespace

bool available() { return true; }

PortList list_ports(const std::string& api) {
  PortList list;
  list.api = resolve_api(api);
  std::string errors;
  list.inputs = names_of(*open_client<RtMidiIn>(list.api, &errors));
  list.outputs = names_of(*open_client<RtMidiOut>(list.api, &errors));
  return list;
}

struct Output::Impl {
  std::string errors, port;
  std::unique_ptr<RtMidiOut> out;
  std::vector<std::vector<bool>> sounding = std::vector<std::vector<bool>>(16, std::vector<bool>(128, false));
};

Output::Output(const std::string& name, const std::string& api) : impl_(std::make_unique<Impl>()) {
  impl_->out = connect<RtMidiOut>(name, api, false, &impl_->errors, &impl_->port);
}

Output::~Output() {
  try {
    all_notes_off();
  } catch (...) {
  }
}

void Output::send(const std::vector<unsigned char>& message) {
  if (message.size() == 3) {
    const int status = message[0] & 0xF0, channel = message[0] & 0x0F;
    if (status == 0x90 && message[2] > 0) impl_->sounding[channel][message[1] & 0x7F] = true;
    if (status == 0x80 || (status == 0x90 && message[2] == 0))
      impl_->sounding[channel][message[1] & 0x7F] = false;
  }
  impl_->out->sendMessage(&message);
  if (!impl_->errors.empty()) throw UserError("MIDI port \"" + impl_->port + "\": " + impl_->errors);
}

void Output::all_notes_off() {
  for (int c = 0; c < 16; ++c)
    for (int p = 0; p < 128; ++p)
      if (impl_->sounding[c][p]) {
        std::vector<unsigned char> off{static_cast<unsigned char>(0x80 | c), static_cast<unsigned char>(p),
                                       0};
        impl_->out->sendMessage(&off);
        impl_->sounding[c][p] = false;
      }
}

const std::string& Output::port() const { return impl_->port; }

struct Input::Impl {
  std::string errors, port;
  std::unique_ptr<RtMidiIn> in;
};

Input::Input(const std::string& name, const std::string& api) : impl_(std::make_unique<Impl>()) {
  impl_->in = connect<RtMidiIn>(name, api, true, &impl_->errors, &impl_->port);
}

Input::~Input() = default;

std::vector<TimedMessage> Input::record_after_first_note(double seconds, std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  std::vector<TimedMessage> kept;
  std::vector<unsigned char> m;
  const auto give_up = clock::now() + timeout;
  clock::time_point start;
  bool started = false;
  for (;;) {
    const auto now = clock::now();
    if (!started && now > give_up) return {};
    if (started && std::chrono::duration<double>(now - start).count() >= seconds) return kept;
    impl_->in->getMessage(&m);
    if (m.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    const bool note_on = m.size() == 3 && (m[0] & 0xF0) == 0x90 && m[2] > 0;
    if (!started && !note_on) continue;
    if (!started) started = true, start = clock::now();
    kept.push_back({std::chrono::duration<double>(clock::now() - start).count(), m});
  }
}

const std::string& Input::port() const { return impl_->port; }

#else  // no RtMidi

namespace {
[[noreturn]] void no_rtmidi() {
  throw UserError(
      "this ganglion was built without RtMidi: install librtmidi-dev and rebuild (scripts/setup.sh does)");
}
}  // namespace

bool available() { return false; }
PortList list_ports(const std::string&) { no_rtmidi(); }
struct Output::Impl {};
Output::Output(const std::string&, const std::string&) { no_rtmidi(); }
Output::~Output() = default;
void Output::send(const std::vector<unsigned char>&) {}
void Output::all_notes_off() {}
const std::string& Output::port() const { no_rtmidi(); }
struct Input::Impl {};
Input::Input(const std::string&, const std::string&) { no_rtmidi(); }
Input::~Input() = default;
std::vector<TimedMessage> Input::record_after_first_note(double, std::chrono::milliseconds) { no_rtmidi(); }
const std::string& Input::port() const { no_rtmidi(); }

#endif

}  // namespace ganglion::cli::midi
