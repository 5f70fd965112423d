#!/usr/bin/env bash
# Pictures of the image-to-image graphs for docs/image-to-image.md: each graph trained STEPS
# iterations (seed 1, one run at a time, both cores) into runs/pictures/NAME-STEPS, then its
# samples grid (input | output | target, or for CycleGAN real | translated | reconstructed in both
# directions) written to OUT/NAME-STEPS.png, SPADE's translation of the demo label map
# (scripts/make-demo-label-map.py) and the photo -> Van Gogh translation of fruits.jpg beside them.
# FILTERS sets the nets' width where the shipped graph is wider (default: as shipped).
#   [FILTERS=N] bench/image-to-image-pictures.sh OUT_DIR [STEPS] [GRAPH...]
# e.g. bench/image-to-image-pictures.sh docs/images 300 pix2pix-edges2emoji spade-labels2emoji
set -euo pipefail
cd "$(dirname "$0")/.."
(($# >= 1)) || { sed -n '2,9p' "$0"; exit 2; }
out=$1
steps=${2:-300}
shift $(($# >= 2 ? 2 : 1))
graphs=("$@")
((${#graphs[@]})) || graphs=(pix2pix-edges2emoji cyclegan-twitter2apple cyclegan-photo2vangogh spade-labels2emoji)
cli=build/editor-cli/ganglion
mkdir -p "$out" runs/pictures
for name in "${graphs[@]}"; do
  graph=graphs/$name.json
  [ -f "$graph" ] || { echo "image-to-image-pictures.sh: no $graph" >&2; exit 2; }
  widths=()
  if [ -n "${FILTERS:-}" ]; then
    for m in $(python3 -c "import json,sys; print(' '.join(json.load(open(sys.argv[1]))['modules']))" "$graph"); do
      widths+=(--set "modules.$m.params.filters=$FILTERS")
    done
  fi
  run=runs/pictures/$name-$steps
  "$cli" run "$graph" --out "$run" --steps "$steps" --resume --log-format jsonl "${widths[@]}" > "$run.log"
  if [[ $name == cyclegan-* ]]; then
    for grid in a2b b2a; do
      "$cli" sample "$graph" --checkpoint "$run" --grid "$grid" "${widths[@]}" --out "$out/$name-$grid-$steps.png"
    done
  else
    "$cli" sample "$graph" --checkpoint "$run" "${widths[@]}" --out "$out/$name-$steps.png"
  fi
  scratch=$(mktemp -d)
  case $name in
    spade-*)
      scripts/make-demo-label-map.py "$scratch/smiley.png" > /dev/null
      "$cli" translate "$graph" --checkpoint "$run" "${widths[@]}" --input "$scratch/smiley.png" --out "$scratch/out"
      cp "$scratch/smiley.png" "$out/spade-demo-map.png"
      cp "$scratch/out/smiley.png" "$out/$name-demo-$steps.png" ;;
    cyclegan-photo2vangogh)
      "$cli" translate "$graph" --checkpoint "$run" "${widths[@]}" --direction a2b \
        --input "${GANGLION_DATA:-data-cache}/vangogh/photos/fruits.jpg" --out "$scratch/out"
      cp "$scratch/out/fruits.png" "$out/$name-fruits-$steps.png" ;;
  esac
  rm -rf "$scratch"
done
