// A Standard MIDI File as the midi plugin reads it: every note of every track with its start and
// end in pulses, and the file's time-signature and tempo changes. Read through libsmf (types 0 and
// 1, running status, every track); a damaged file is refused with its name and the byte offset of
// the part that could not be read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ganglion::midi {

struct Note {
  int track = 0, channel = 0;  ///< channel 0..15; 9 is General MIDI's drums
  int pitch = 0, velocity = 0;
  int64_t start = 0, end = 0;  ///< pulses; end > start
};

struct Meter {
  int64_t at = 0;  ///< pulses
  int numerator = 4, denominator = 4;
};

struct Song {
  std::string path;
  int format = 1, tracks = 0;
  int ppqn = 480;             ///< pulses per quarter note
  double tempo_bpm = 120;     ///< the first tempo (quarter notes per minute)
  std::vector<Meter> meters;  ///< in order, the first at pulse 0
  std::vector<Note> notes;    ///< ordered by start, then pitch
  int64_t length = 0;         ///< pulses to the last event
};

/// Note-on and note-off messages paired into notes, as read_song pairs a track's: a note-on of a
/// key (channel and pitch) already sounding ends it first, a note-on of velocity 0 is a note-off,
/// finish() ends what still sounds, and notes of no length are dropped.
class NotePairing {
 public:
  NotePairing(int track, std::vector<Note>* notes) : track_(track), notes_(notes) {}
  /// A channel message of `size` bytes at pulse `at`; any but a note-on or note-off is ignored.
  void message(const unsigned char* bytes, size_t size, int64_t at);
  void finish(int64_t at);

 private:
  void end(int channel, int pitch, int64_t at);
  int track_;
  std::vector<Note>* notes_;
  std::map<std::pair<int, int>, Note> sounding_;
};

/// Orders notes by start, then pitch (Song::notes' order).
void sort_notes(std::vector<Note>& notes);

/// Reads `path`; throws std::invalid_argument naming the file (and the byte offset of the chunk
/// libsmf stopped in) for a file that is not a Standard MIDI File or is damaged, or that counts
/// time in SMPTE frames rather than pulses per quarter note.
Song read_song(const std::string& path);

/// A file's channel messages (note on and off, program and control changes, pitch bends) across all
/// its tracks, in time order, with their times in seconds (the file's tempo changes applied): what
/// a player sends to a port. Throws as read_song does.
struct TimedEvent {
  double seconds = 0;
  std::vector<unsigned char> bytes;
};
std::vector<TimedEvent> read_timed_events(const std::string& path);

/// The .mid and .midi files under `folder` (recursively), sorted by path.
std::vector<std::string> midi_files(const std::string& folder);

}  // namespace ganglion::midi
