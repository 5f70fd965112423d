#!/usr/bin/env bash
# The pictures of docs/quality.md and docs/stylegan2.md from trained emoji runs: an uncurated grid
# (the first 32 samples of fresh noise, nothing picked) of each graph given, and for StyleGAN2 a
# truncation sweep (seeds 0-7 at psi 1, 0.7 and 0.5), a style-mixing grid (coarse styles, then
# middle and fine ones, from the columns' seeds) and an interpolation strip in W.
#   bench/emoji-pictures.sh OUT_DIR GRAPH=RUN...
# e.g. bench/emoji-pictures.sh docs/images stylegan2-emoji-64=runs/seeds/stylegan2-emoji-64/seed-1
set -euo pipefail
cd "$(dirname "$0")/.."
(($# >= 2)) || { sed -n '2,7p' "$0"; exit 2; }
out=$1
shift
cli=build/editor-cli/ganglion
mkdir -p "$out"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for pair in "$@"; do
  name=${pair%%=*}
  run=${pair#*=}
  graph=graphs/$name.json
  [ -f "$graph" ] && [ -d "$run/checkpoints" ] || { echo "emoji-pictures.sh: no $graph or no $run/checkpoints" >&2; exit 2; }
  # Fresh noise, 32 rows, 8 a row: uncurated.
  "$cli" sample "$graph" --checkpoint "$run" --count 32 --set outputs.samples.params.columns=8 \
    --out "$out/$name-uncurated.png"
  if [[ $name == stylegan2-* ]]; then
    for psi in 1 0.7 0.5; do
      "$cli" sample "$graph" --checkpoint "$run" --seeds 0-7 --truncation "$psi" --out "$scratch/psi$psi" \
        --sheet "$out/$name-psi$psi.png"
    done
    "$cli" sample "$graph" --checkpoint "$run" --style-mix 0-3 --mix-columns 10-14 --mix-layers coarse \
      --out "$out/$name-mix-coarse.png"
    "$cli" sample "$graph" --checkpoint "$run" --style-mix 0-3 --mix-columns 10-14 --mix-layers middle,fine \
      --out "$out/$name-mix-fine.png"
    "$cli" sample "$graph" --checkpoint "$run" --interpolate 0,1,2 --frames 4 --video none \
      --out "$scratch/walk" --sheet "$out/$name-interpolation.png"
  fi
done
ls -l "$out"
