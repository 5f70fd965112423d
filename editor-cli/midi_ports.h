// MIDI ports through RtMidi, for `ganglion midi ports`, `ganglion play` and live sampling: a port
// named by (a unique part of) its name, on ALSA's sequencer or a JACK server. A machine with
// neither, or a build without RtMidi, is a clear UserError, never a crash.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ganglion::cli::midi {

/// Whether this build has RtMidi.
bool available();

/// The ports of `api` ("auto": ALSA where its sequencer opens, else JACK where a server runs;
/// "alsa"; "jack"): the API used, the input ports (that send to us) and the output ports.
struct PortList {
  std::string api;
  std::vector<std::string> inputs, outputs;
};
PortList list_ports(const std::string& api);

/// A MIDI message with the time it arrived, in seconds since recording began.
struct TimedMessage {
  double at = 0;
  std::vector<unsigned char> bytes;
};

class Output {
 public:
  /// Connects to the output port `name` names; throws UserError listing the ports when it names none
  /// or several.
  Output(const std::string& name, const std::string& api);
  ~Output();  ///< silences every note first
  void send(const std::vector<unsigned char>& message);
  /// Note-off for every note still sounding, on every channel.
  void all_notes_off();
  const std::string& port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Input {
 public:
  Input(const std::string& name, const std::string& api);
  ~Input();
  /// Waits (up to `timeout`) for the first note-on, then keeps what arrives for `seconds` after it;
  /// the note-on is at time 0. Empty when no note came.
  std::vector<TimedMessage> record_after_first_note(double seconds, std::chrono::milliseconds timeout);
  const std::string& port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ganglion::cli::midi
