#!/usr/bin/env bash
# StyleGAN2 with DiffAugment, with ADA's adaptive probability driving the same augmentations, and
# without, on the 100 LFW faces (graphs/stylegan2-lfw-32.json) and the 55 dlib faces
# (graphs/stylegan2-faces-64.json), the same wall-clock budget a run, three seeds each, scored
# through the faces' quality probes. "Without" sets the probability of the three augment nodes to
# 0 (they then pass images through); "ADA" adds an augment/ada-probability node (target 0.6,
# p from 0 to 1 in 1000 images at most, as the budget is a few thousand images) feeding them. The
# six variants train side by side, one thread each, seed after seed; the two face classifiers are
# trained first where runs/classifier-lfw or runs/classifier-dlib-faces is missing. Runs go to
# runs/seeds/GRAPH-VARIANT-BUDGET (variant diffaugment, none or ada) and their reports
# runs/GRAPH-VARIANT-BUDGET.txt. DATA="faces" (or "lfw") trains one data set's three variants only;
# VARIANTS="diffaugment none" leaves ADA out; JOBS=3 trains the seeds side by side too instead of
# one after another.
#   [DATA=lfw|faces] [VARIANTS=...] [JOBS=N] bench/diffaugment-compare.sh [BUDGET] [SEEDS...]
#   BUDGET as ganglion run --time-limit (default 8m)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-8m}
shift || true
seeds=("$@")
((${#seeds[@]})) || seeds=(1 2 3)
image=(--set nodes.probe_fake.in.image=fake.image)
off=(--set nodes.aug_fake.params.probability=0 --set nodes.aug_real.params.probability=0
  --set nodes.aug_leaf.params.probability=0)
ada=(--set 'nodes.ada={"type": "augment/ada-probability", "params": {"adjust_images": 1000}, "in": {"real_score": {"from": "d_real", "previous": true}}}'
  --set nodes.aug_fake.in.probability=ada.probability --set nodes.aug_real.in.probability=ada.probability
  --set nodes.aug_leaf.in.probability=ada.probability
  --set 'outputs.log={"every": 20, "values": ["ada.probability", "ada.overfitting"]}')
mkdir -p runs
common=(--time-limit "$budget" --jobs "${JOBS:-1}" --seeds "${seeds[@]}")
declare -A graph=([lfw]=stylegan2-lfw-32 [faces]=stylegan2-faces-64)
declare -A probe=([lfw]=lfw-quality [faces]=dlib-faces-quality)
reports=()
for d in ${DATA:-lfw faces}; do
  [[ -v "graph[$d]" ]] || { echo "diffaugment-compare.sh: DATA takes lfw and faces, not $d" >&2; exit 2; }
  args=("graphs/${graph[$d]}.json" --include "graphs/probes/${probe[$d]}.json" "${image[@]}" "${common[@]}")
  for variant in ${VARIANTS:-diffaugment none ada}; do
    case $variant in
      diffaugment) extra=() ;;
      none) extra=("${off[@]}") ;;
      ada) extra=("${ada[@]}") ;;
      *) echo "diffaugment-compare.sh: VARIANTS takes diffaugment, none and ada, not $variant" >&2; exit 2 ;;
    esac
    name=${graph[$d]}-$variant-$budget
    reports+=("runs/$name.txt")
    python3 bench/seeds.py "${args[@]}" "${extra[@]}" --name "$name" > "runs/$name.txt" 2>&1 &
  done
done
status=0
for job in $(jobs -p); do wait "$job" || status=1; done
cat "${reports[@]}"
exit $status
