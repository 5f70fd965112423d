#!/usr/bin/env bash
# Trains one variant for its graph's fixed budget on this machine and prints its metrics: the
# numbers docs/quality.md records. Runs go to runs/quality/VARIANT (resumed if present).
#   bench/quality.sh VARIANT [--threads N]      VARIANT: see --list
#   bench/quality.sh --list
set -euo pipefail
cd "$(dirname "$0")/.."
ganglion=build/editor-cli/ganglion
variants=(gan-ring8 gan-ring8-minimax gan-ring8-pac2 gan-grid25-pac2 classifier-mnist classifier-fashion-mnist
  cgan-mnist cgan-mnist-projection cgan-fashion-mnist cgan-mnist-thickness
  gan-mnist dcgan-mnist lsgan-mnist hinge-sn-mnist wgan-gp-mnist dcgan-r1-ema-mnist classifier-lfw dcgan-lfw-32
  classifier-dlib-faces dcgan-faces-32 dcgan-faces-64)
# Graphs without metrics of their own are measured through a probe fragment (graphs/probes/),
# merged with --include: the same classifier features and metrics for every unconditional MNIST GAN.
declare -A probe=([gan-mnist]=mnist-quality [dcgan-mnist]=mnist-quality [lsgan-mnist]=mnist-quality
  [hinge-sn-mnist]=mnist-quality [wgan-gp-mnist]=mnist-quality [dcgan-r1-ema-mnist]=mnist-quality
  [dcgan-lfw-32]=lfw-quality [dcgan-faces-32]=dlib-faces-quality
  [dcgan-faces-64]=dlib-faces-quality)
case "${1:-}" in
  ""|-h|--help) sed -n '2,6p' "$0"; exit 0 ;;
  --list) printf '%s\n' "${variants[@]}"; exit 0 ;;
esac
variant=$1; shift
[ -f "graphs/$variant.json" ] || { echo "quality.sh: no graph graphs/$variant.json (try --list)" >&2; exit 2; }
[ -x "$ganglion" ] || { echo "quality.sh: build first (scripts/setup.sh --no-train)" >&2; exit 2; }
out=runs/quality/$variant
mkdir -p runs/quality
files=("graphs/$variant.json")
include=()
if [ -n "${probe[$variant]:-}" ]; then
  files+=("graphs/probes/${probe[$variant]}.json")
  include=(--include "graphs/probes/${probe[$variant]}.json")
fi
# Modules that start from another graph's run ("weights": "runs/NAME" or {"from": "runs/NAME"},
# a classifier for the metrics) need that run first; it is trained here once and kept.
for dep in $(grep -ho '"\(weights\|from\)": *"runs/[^"]*"' "${files[@]}" | sed 's/.*"runs\/\([^"]*\)"/\1/' | sort -u); do
  if ! ls "runs/$dep/checkpoints/"step-*.pt > /dev/null 2>&1; then
    echo "$variant: training runs/$dep first (its modules read it)"
    "$ganglion" run "graphs/$dep.json" --out "runs/$dep" --resume --log-format jsonl "$@" > "runs/$dep.log" 2>&1 ||
      { tail -5 "runs/$dep.log" >&2; exit 1; }
  fi
done
start=$(date +%s)
"$ganglion" run "graphs/$variant.json" "${include[@]}" --out "$out" --resume --log-format jsonl "$@" > "$out.log" 2>&1 ||
  { tail -5 "$out.log" >&2; exit 1; }
seconds=$(( $(date +%s) - start ))
echo "$variant: trained in ${seconds} s on $(nproc) core(s) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
"$ganglion" eval "graphs/$variant.json" "${include[@]}" --checkpoint "$out" --json "$out/eval.json"
