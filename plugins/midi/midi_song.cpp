// Reading a Standard MIDI File with libsmf. Its framing (chunks, and each event's length) is
// checked first: that names the byte where a damaged file breaks, and keeps from libsmf the files
// it would abort on. libsmf reports through GLib's log and loads what it can of a damaged file
// ("continuing anyway"), so every message it logs while loading is taken as damage too.
#include "midi/midi_song.h"
#include "midi/smf_handle.h"

#include <smf.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

namespace ganglion::midi {

namespace {

/// libsmf's messages while one load runs. GLib's default handler is process-wide, so loads are
/// serialised.
class LogCapture {
 public:
  LogCapture() : lock_(mutex()) { previous_ = g_log_set_default_handler(&LogCapture::handle, this); }
  ~LogCapture() { g_log_set_default_handler(previous_, nullptr); }
  const std::vector<std::string>& messages() const { return messages_; }

 private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static void handle(const gchar*, GLogLevelFlags, const gchar* message, gpointer self) {
    std::string text = message ? message : "";
    for (const char* prefix : {"SMF error: ", "SMF warning: "})
      if (text.rfind(prefix, 0) == 0) text = text.substr(std::char_traits<char>::length(prefix));
    static_cast<LogCapture*>(self)->messages_.push_back(text);
  }
  std::lock_guard<std::mutex> lock_;
  GLogFunc previous_ = nullptr;
  std::vector<std::string> messages_;
};

uint32_t big_endian(const std::string& b, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  return v;
}

/// Loads `bytes` with libsmf; `messages` receives what it logged.
SmfPtr load(const std::string& bytes, std::vector<std::string>* messages) {
  LogCapture capture;
  SmfPtr smf(smf_load_from_memory(bytes.data(), static_cast<int>(bytes.size())));
  *messages = capture.messages();
  return smf;
}

/// Where the framing of `bytes` is broken, as "at byte N: what"; "" for a sound file. libsmf
/// aborts the process (an assert) on some broken tracks, a track that ends without its End of
/// Track event among them, so no file reaches it before this walk has found every chunk and every
/// event's length sound. It reads lengths only, no event's meaning: that is libsmf's.
std::string framing_problem(const std::string& bytes) {
  const size_t size = bytes.size();
  const auto at = [](size_t offset, const std::string& what) {
    return "at byte " + std::to_string(offset) + ": " + what;
  };
  if (size < 14 || bytes.compare(0, 4, "MThd") != 0) return at(0, "no MThd header");
  const uint32_t header_length = big_endian(bytes, 4, 4);
  if (header_length < 6 || 8 + size_t(header_length) > size)
    return at(4, "the MThd header declares " + std::to_string(header_length) + " bytes");
  const int declared = static_cast<int>(big_endian(bytes, 10, 2));
  if (declared == 0) return at(10, "the header declares no track");
  size_t chunk = 8 + header_length;
  for (int track = 1; track <= declared; ++track) {
    const std::string which = "track " + std::to_string(track) + " of " + std::to_string(declared);
    if (chunk + 8 > size)
      return at(chunk, which + " is missing (the file ends at byte " + std::to_string(size) + ")");
    const uint32_t length = big_endian(bytes, chunk + 4, 4);
    if (chunk + 8 + size_t(length) > size)
      return at(chunk, which + "'s chunk declares " + std::to_string(length) +
                           " bytes, but the file ends at byte " + std::to_string(size));
    if (bytes.compare(chunk, 4, "MTrk") != 0) {  // an unknown chunk: skipped, and not a track
      chunk += 8 + length, --track;
      continue;
    }
    const size_t end = chunk + 8 + length;
    size_t i = chunk + 8;
    int running = 0;
    bool ended = false;
    const auto byte = [&](size_t k) { return static_cast<unsigned char>(bytes[k]); };
    // A variable-length number at i (at most 4 bytes); false when it runs past the chunk.
    const auto number = [&](uint32_t* value) {
      *value = 0;
      for (int n = 0; n < 4; ++n) {
        if (i >= end) return false;
        const unsigned char b = byte(i++);
        *value = (*value << 7) | (b & 0x7F);
        if (!(b & 0x80)) return true;
      }
      return false;
    };
    while (i < end && !ended) {
      const size_t event = i;
      uint32_t delta = 0, skip = 0;
      if (!number(&delta)) return at(event, which + ": a delta time runs past its chunk");
      if (i >= end) return at(event, which + ": ends after a delta time, without an event");
      const unsigned char status = byte(i);
      if (status == 0xFF) {
        if (i + 2 > end) return at(i, which + ": a meta event is cut short");
        const unsigned char type = byte(i + 1);
        i += 2;
        if (!number(&skip) || i + skip > end) return at(event, which + ": a meta event runs past its chunk");
        i += skip;
        ended = type == 0x2F;
        running = 0;
      } else if (status == 0xF0 || status == 0xF7) {
        ++i;
        if (!number(&skip) || i + skip > end)
          return at(event, which + ": a system-exclusive event runs past its chunk");
        i += skip;
        running = 0;
      } else if (status >= 0xF0) {
        return at(i, which + ": status byte " + std::to_string(status) + " has no place in a MIDI file");
      } else {
        if (status & 0x80)
          running = status, ++i;
        else if (!running)
          return at(i, which + ": a data byte with no status before it");
        const int data = (running & 0xF0) == 0xC0 || (running & 0xF0) == 0xD0 ? 1 : 2;
        if (i + data > end) return at(event, which + ": a channel event is cut short");
        for (int d = 0; d < data; ++d)
          if (byte(i + d) & 0x80) return at(i + d, which + ": a channel event's data byte is over 127");
        i += data;
      }
    }
    if (!ended) return at(end, which + " ends without its End of Track event");
    chunk = end;
  }
  return "";
}

}  // namespace

namespace {

/// `path` loaded by libsmf after its framing is checked; throws std::invalid_argument as read_song.
SmfPtr load_checked(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::invalid_argument(path + ": cannot open the file");
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (bytes.size() > (size_t(1) << 30)) throw std::invalid_argument(path + ": over 1 GiB, not a MIDI file");

  if (const std::string problem = framing_problem(bytes); !problem.empty())
    throw std::invalid_argument(path + ": not a readable Standard MIDI File, " + problem);
  // The header's division: pulses per quarter note, or SMPTE frames where its top bit is set.
  const uint32_t division = big_endian(bytes, 12, 2);
  if (division & 0x8000)
    throw std::invalid_argument(
        path + ": counts time in SMPTE frames; only files in pulses per quarter note are read");
  if (division == 0)
    throw std::invalid_argument(path +
                                ": not a readable Standard MIDI File, at byte 12: the header declares 0 "
                                "pulses per quarter note");
  std::vector<std::string> messages;
  SmfPtr smf = load(bytes, &messages);
  if (!smf || !messages.empty())
    throw std::invalid_argument(path + ": libsmf cannot read the file" +
                                (messages.empty() ? std::string() : ": " + messages.front()));
  return smf;
}

}  // namespace

std::vector<TimedEvent> read_timed_events(const std::string& path) {
  SmfPtr smf = load_checked(path);
  std::vector<TimedEvent> events;
  smf_rewind(smf.get());
  while (smf_event_t* e = smf_get_next_event(smf.get())) {
    if (smf_event_is_metadata(e) || e->midi_buffer_length < 1) continue;
    const unsigned char status = e->midi_buffer[0];
    if (status < 0x80 || status >= 0xF0) continue;  // channel messages only, no system exclusive
    events.push_back({e->time_seconds,
                      std::vector<unsigned char>(e->midi_buffer, e->midi_buffer + e->midi_buffer_length)});
  }
  return events;
}

Song read_song(const std::string& path) {
  SmfPtr smf = load_checked(path);

  Song song;
  song.path = path;
  song.format = smf->format;
  song.tracks = smf->number_of_tracks;
  song.ppqn = smf->ppqn;
  song.length = smf_get_length_pulses(smf.get());
  for (int i = 0;; ++i) {
    const smf_tempo_t* tempo = smf_get_tempo_by_number(smf.get(), i);
    if (!tempo) break;
    if (i == 0 && tempo->microseconds_per_quarter_note > 0)
      song.tempo_bpm = 60e6 / tempo->microseconds_per_quarter_note;
    if (song.meters.empty() || song.meters.back().numerator != tempo->numerator ||
        song.meters.back().denominator != tempo->denominator)
      song.meters.push_back({tempo->time_pulses, tempo->numerator, tempo->denominator});
  }
  if (song.meters.empty() || song.meters.front().at != 0) song.meters.insert(song.meters.begin(), Meter{});

  for (int t = 1; t <= smf->number_of_tracks; ++t) {
    smf_track_t* track = smf_get_track_by_number(smf.get(), t);
    NotePairing pairing(t - 1, &song.notes);
    int64_t last = 0;
    for (int e = 1; e <= track->number_of_events; ++e) {
      const smf_event_t* event = smf_track_get_event_by_number(track, e);
      last = std::max<int64_t>(last, event->time_pulses);
      if (!smf_event_is_metadata(event))
        pairing.message(event->midi_buffer, static_cast<size_t>(event->midi_buffer_length),
                        event->time_pulses);
    }
    // Notes still sounding at the end of the track end there.
    pairing.finish(last);
  }
  sort_notes(song.notes);
  return song;
}

void NotePairing::end(int channel, int pitch, int64_t at) {
  const auto it = sounding_.find({channel, pitch});
  if (it == sounding_.end()) return;
  it->second.end = at;
  if (it->second.end > it->second.start) notes_->push_back(it->second);
  sounding_.erase(it);
}

void NotePairing::message(const unsigned char* bytes, size_t size, int64_t at) {
  if (size < 3) return;
  const int status = bytes[0] & 0xF0, channel = bytes[0] & 0x0F;
  const int pitch = bytes[1] & 0x7F, velocity = bytes[2] & 0x7F;
  if (status == 0x90 && velocity > 0) {
    end(channel, pitch, at);
    sounding_[{channel, pitch}] = Note{track_, channel, pitch, velocity, at, 0};
  } else if (status == 0x80 || status == 0x90) {
    end(channel, pitch, at);
  }
}

void NotePairing::finish(int64_t at) {
  while (!sounding_.empty()) end(sounding_.begin()->first.first, sounding_.begin()->first.second, at);
}

void sort_notes(std::vector<Note>& notes) {
  std::sort(notes.begin(), notes.end(), [](const Note& a, const Note& b) {
    return a.start != b.start ? a.start < b.start : a.pitch < b.pitch;
  });
}

std::vector<std::string> midi_files(const std::string& folder) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::is_directory(folder, error)) throw std::invalid_argument(folder + ": not a folder");
  std::vector<std::string> files;
  for (fs::recursive_directory_iterator it(folder, fs::directory_options::follow_directory_symlink, error),
       end;
       it != end && !error; it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    std::string ext = it->path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".mid" || ext == ".midi") files.push_back(it->path().string());
  }
  if (error) throw std::invalid_argument(folder + ": cannot list the folder (" + error.message() + ")");
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace ganglion::midi
