#!/usr/bin/env bash
# pix2pix on the emoji (graphs/pix2pix-twitter2google.json), Twitter's drawing to Google's, three
# seeds at a fixed number of iterations, scored on the 315 held-out pairs by
# graphs/probes/pix2pix-emoji-quality.json: mean absolute error, PSNR and SSIM of G's translation,
# beside the identity baseline (Twitter's drawing taken as the answer). FILTERS sets both nets'
# width (the paper's 64 by default; 32 quarters the work on a CPU). Runs go to
# runs/seeds/pix2pix-twitter2google-fFILTERS-STEPS, the report to the same name .txt in runs/.
#   [FILTERS=64] [JOBS=2] bench/pix2pix-quality.sh [STEPS] [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-1500}
shift || true
seeds=("$@")
((${#seeds[@]})) || seeds=(1 2 3)
filters=${FILTERS:-64}
name=pix2pix-twitter2google-f$filters-$steps
mkdir -p runs
bench/seeds.py graphs/pix2pix-twitter2google.json --include graphs/probes/pix2pix-emoji-quality.json \
  --set steps="$steps" --set modules.G.params.filters="$filters" --set modules.D.params.filters="$filters" \
  --set outputs.checkpoint.every=500 --jobs "${JOBS:-2}" --seeds "${seeds[@]}" --name "$name" |
  tee "runs/$name.txt"
