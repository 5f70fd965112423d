#!/usr/bin/env bash
# Renders what the three MidiNet graphs learnt, for listening: from each graph's run (by default
# bench/seeds.py's seed 1, runs/seeds/midinet-N/seed-1), 8 bars over the chords C G Am F, the
# first row of the melody grid, as docs/music/midinet-N.mid and, rendered by fluidsynth with
# Debian's General MIDI SoundFont, docs/music/midinet-N.oga (Ogg Vorbis).
#   bench/midinet-render.sh [RUN_ROOT]      RUN_ROOT/midinet-N/seed-1 (default runs/seeds)
# Needs Debian's fluidsynth and fluid-soundfont-gm, which it installs when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-runs/seeds}
font=/usr/share/sounds/sf2/FluidR3_GM.sf2
if ! command -v fluidsynth > /dev/null || [ ! -f "$font" ]; then
  echo "== installing fluidsynth and fluid-soundfont-gm (Debian) to render MIDI"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq fluidsynth fluid-soundfont-gm
fi
mkdir -p docs/music
for n in 1 2 3; do
  run="$root/midinet-$n/seed-1"
  [ -d "$run/checkpoints" ] || { echo "midinet-render.sh: $run has no checkpoints: run bench/seeds.py graphs/midinet-$n.json first" >&2; exit 2; }
  build/editor-cli/ganglion sample "graphs/midinet-$n.json" --checkpoint "$run" --grid melody --bars 8 \
    --chords C,G,Am,F --set outputs.samples.melody.params.rows=1 --out "docs/music/midinet-$n.mid"
  fluidsynth -ni -q -T oga -r 22050 -F "docs/music/midinet-$n.oga" "$font" "docs/music/midinet-$n.mid" > /dev/null
  echo "== docs/music/midinet-$n.oga ($(du -k "docs/music/midinet-$n.oga" | cut -f1) KB)"
done
