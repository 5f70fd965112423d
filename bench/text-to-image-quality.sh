#!/usr/bin/env bash
# GAN-INT-CLS on the captioned Twitter emoji (graphs/gan-int-cls-emoji.json, or another graph with
# the same T and G given as GRAPH), several seeds at a fixed number of iterations, scored on the
# 192 held-out emoji by graphs/probes/text-to-image-quality.json: R-precision by a matcher trained
# apart from the GAN's encoder (graphs/text-encoder-emoji.json with seed 2, trained here first into
# runs/text-encoder-emoji-probe), with the real images' ceiling and the shuffled captions' floor,
# and the category classifier's accuracy and FD. bench/seeds.py trains runs/text-encoder-emoji and
# runs/classifier-emoji first where they are missing. Runs go to runs/seeds/NAME-STEPS, the report
# to the same name .txt in runs/.
# SIZE=32 trains and scores at 32x32 instead of the graph's 64x64 (G, D, the data and the probe's
# held-out images; the probe's matcher and classifier, trained at 64, then read 32x32 images, the
# real ones as the generated ones): about five times faster on a CPU. The name gets -32.
#   [JOBS=2] [SIZE=64|32] [GRAPH=graphs/gan-int-cls-emoji.json] bench/text-to-image-quality.sh [STEPS] [SEEDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-2000}
shift || true
seeds=("$@")
((${#seeds[@]})) || seeds=(1 2 3)
graph=${GRAPH:-graphs/gan-int-cls-emoji.json}
size=${SIZE:-64}
name=$(basename "$graph" .json)-$steps
sizes=()
if [[ $size != 64 ]]; then
  name=$name-$size
  sizes=(--set modules.G.params.resolution="$size" --set modules.D.params.resolution="$size"
    --set nodes.batch.params.size="$size" --set nodes.held_out.params.size="$size")
fi
# A graph with conditioning augmentation (module CA) draws its G's condition from CA's Gaussian of the
# embedding: the probe's held-out images are drawn so too.
ca=()
if grep -q '"CA"' "$graph"; then
  ca=(--set 'nodes.held_out_ca={"apply": "CA", "in": {"embedding": "held_out_text.embedding"}}'
    --set 'nodes.held_out_condition={"type": "noise/reparameterize", "in": {"mu": "held_out_ca.mu", "logvar": "held_out_ca.logvar"}}'
    --set nodes.held_out_fake.in.condition=held_out_condition.z)
fi
mkdir -p runs
if ! ls runs/text-encoder-emoji-probe/checkpoints/step-*.pt > /dev/null 2>&1; then
  echo "training runs/text-encoder-emoji-probe first (the probe's matcher, seed 2)"
  build/editor-cli/ganglion run graphs/text-encoder-emoji.json --set seed=2 --out runs/text-encoder-emoji-probe \
    --resume --log-format jsonl > runs/text-encoder-emoji-probe.log 2>&1
fi
bench/seeds.py "$graph" --include graphs/probes/text-to-image-quality.json \
  --set steps="$steps" --set outputs.checkpoint.every=500 "${sizes[@]}" "${ca[@]}" --jobs "${JOBS:-2}" --seeds "${seeds[@]}" \
  --name "$name" | tee "runs/$name.txt"
