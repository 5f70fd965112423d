#!/usr/bin/env bash
# CycleGAN between Twitter's and Apple's emoji (graphs/cyclegan-twitter2apple.json), three seeds at
# a fixed number of iterations, scored on the 192 held-out emoji of each style by
# graphs/probes/cyclegan-emoji-quality.json: the share of translations the style classifier
# (graphs/classifier-emoji-style.json) reads as the target style, the share the category classifier
# (graphs/classifier-emoji.json) says kept their category, and the FD on its features against the
# target style's real images, both directions, beside the untranslated images. bench/seeds.py
# trains the two classifiers first where runs/classifier-emoji or runs/classifier-emoji-style is
# missing. Runs go to runs/seeds/cyclegan-twitter2apple-STEPS, the report to the same name .txt.
#   [JOBS=2] bench/cyclegan-quality.sh [STEPS] [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-2000}
shift || true
seeds=("$@")
((${#seeds[@]})) || seeds=(1 2 3)
name=cyclegan-twitter2apple-$steps
mkdir -p runs
# The lr decays over the second half of whatever budget is given, as the paper's schedule does.
half=$((steps / 2))
bench/seeds.py graphs/cyclegan-twitter2apple.json --include graphs/probes/cyclegan-emoji-quality.json \
  --set steps="$steps" --set "optimizers.adam_g.schedule.start=$half" --set "optimizers.adam_d.schedule.start=$half" \
  --set outputs.checkpoint.every=500 --jobs "${JOBS:-2}" --seeds "${seeds[@]}" --name "$name" |
  tee "runs/$name.txt"
