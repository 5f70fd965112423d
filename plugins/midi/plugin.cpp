// The midi plugin: Standard MIDI Files read (libsmf) into MidiNet's bars of melody and chords,
// generated bars written back as .mid files, and the statistics that compare generated bars with
// real ones.
#include <ganglion/plugin.h>

void register_bars_source(ganglion::TypeRegistrar&);
void register_midi_file_writer(ganglion::TypeRegistrar&);
void register_bar_statistics(ganglion::TypeRegistrar&);
void register_chord_tones(ganglion::TypeRegistrar&);

GANGLION_PLUGIN("midi", GANGLION_VERSION) {
  register_bars_source(registrar);
  register_midi_file_writer(registrar);
  register_bar_statistics(registrar);
  register_chord_tones(registrar);
}
