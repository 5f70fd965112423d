#!/usr/bin/env bash
# The caption grids of docs/text-to-image.md from a trained GAN-INT-CLS run (its graph.json, so the
# sizes the run was trained at): eight captions a grid, a column each, four rows of fresh noise.
# Seen captions are of training emoji, held-out ones of emoji never trained on (data/emoji's split
# test), new ones of no emoji in emoji.json; and frames from one caption to another, one seed's
# noise. Writes OUT/gan-int-cls-{seen,held-out,new,between}.png.
#   bench/text-to-image-pictures.sh RUN_DIR [OUT=docs/images]
set -euo pipefail
cd "$(dirname "$0")/.."
run=$1
out=${2:-docs/images}
cli=build/editor-cli/ganglion
mkdir -p "$out"
grid() {
  local name=$1
  shift
  local texts=()
  for caption in "$@"; do texts+=(--text "$caption"); done
  "$cli" sample "$run/graph.json" --checkpoint "$run" --from fake --count 32 "${texts[@]}" \
    --set outputs.samples.params.columns=8 --out "$out/gan-int-cls-$name.png"
}
grid seen "grinning face" "heavy black heart" "pile of poo" "sun with face" "japan flag" \
  "face with tears of joy" "thumbs up sign" "banana"
grid held-out "smiling face with open mouth and smiling eyes" "heart with ribbon" "rose" "shark" "garlic" \
  "bolivia flag" "orange book" "kissing cat face with closed eyes"
grid new "a yellow face with a hat" "a blue heart" "a green apple" "a red car" "a smiling cat" \
  "a flag with a star" "a sad face" "a white flower"
frames=$(mktemp -d)
"$cli" sample "$run/graph.json" --checkpoint "$run" --text "grinning face" --text "heavy black heart" \
  --text "japan flag" --text "banana" --interpolate 7 --frames 6 --out "$frames" --video none \
  --sheet "$out/gan-int-cls-between.png"
rm -rf "$frames"
