#!/usr/bin/env bash
# GauGAN/SPADE from label maps to Twitter's emoji (graphs/spade-labels2emoji.json), three seeds at
# a fixed number of iterations, scored on the 192 held-out emoji by
# graphs/probes/spade-emoji-quality.json: each held-out emoji quantised to its label map and painted
# by G, then the share the category classifier (graphs/classifier-emoji.json) files under the
# emoji's category and the FD on its features against the real held-out emoji, beside the label map
# itself drawn in its colours and the real emoji. bench/seeds.py trains runs/classifier-emoji
# first where it is missing. Runs go to runs/seeds/spade-labels2emoji-STEPS, the report to the
# same name .txt in runs/.
#   [JOBS=2] bench/spade-quality.sh [STEPS] [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-1000}
shift || true
seeds=("$@")
((${#seeds[@]})) || seeds=(1 2 3)
name=spade-labels2emoji-$steps
mkdir -p runs
bench/seeds.py graphs/spade-labels2emoji.json --include graphs/probes/spade-emoji-quality.json \
  --set steps="$steps" --set outputs.checkpoint.every=500 --jobs "${JOBS:-2}" --seeds "${seeds[@]}" \
  --name "$name" | tee "runs/$name.txt"
