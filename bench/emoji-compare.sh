#!/usr/bin/env bash
# The emoji comparison of docs/quality.md: DCGAN, Progressive GAN and StyleGAN2 on the same 1911
# Twemoji images for the same wall-clock budget a run, three seeds each, scored by the features of
# the emoji classifier (graphs/classifier-emoji.json, trained first if runs/classifier-emoji is
# missing). The three graphs train side by side, one thread each, seed after seed, so that they
# share the machine alike; runs go to runs/seeds/NAME/seed-N with a summary.json each.
#   bench/emoji-compare.sh [BUDGET] [SEEDS...]     BUDGET as ganglion run --time-limit (default 12m)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-12m}
shift || true
seeds=("$@")
((${#seeds[@]})) || seeds=(1 2 3)
probe=graphs/probes/emoji-quality.json
mkdir -p runs
common=(--include "$probe" --time-limit "$budget" --jobs 1 --seeds "${seeds[@]}")
python3 bench/seeds.py graphs/dcgan-emoji-64.json "${common[@]}" > runs/emoji-compare-dcgan.txt 2>&1 &
python3 bench/seeds.py graphs/progan-emoji-64.json "${common[@]}" > runs/emoji-compare-progan.txt 2>&1 &
python3 bench/seeds.py graphs/stylegan2-emoji-64.json "${common[@]}" --set nodes.probe_fake.in.image=fake.image \
  > runs/emoji-compare-stylegan2.txt 2>&1 &
status=0
for job in $(jobs -p); do wait "$job" || status=1; done
cat runs/emoji-compare-{dcgan,progan,stylegan2}.txt
exit $status
