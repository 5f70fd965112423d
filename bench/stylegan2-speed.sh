#!/usr/bin/env bash
# Seconds per thousand images (sec/kimg) and images/s of each shipped StyleGAN2 graph on this
# machine: each trained for STEPS iterations (all four phases, the regularisation phases at their
# intervals) at THREADS threads, one after another, ROUNDS times in turn; the first log window (20
# iterations: start-up, first allocations) is left out. Prints one line per graph with the median
# and the spread of the rounds. Run it on a machine doing nothing else.
#   bench/stylegan2-speed.sh [STEPS] [THREADS] [ROUNDS]          (default 60 2 3)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-60}
threads=${2:-2}
rounds=${3:-3}
cli=build/editor-cli/ganglion
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
graphs=(stylegan2-emoji-64 stylegan2-lfw-32 stylegan2-faces-64)
for r in $(seq "$rounds"); do
  for g in "${graphs[@]}"; do
    "$cli" run "graphs/$g.json" --out "$out/$g-$r" --steps "$steps" --threads "$threads" --log-format text \
      --set outputs.log.every=20 --set outputs.samples.every=100000 --set outputs.checkpoint.every=100000 \
      > "$out/$g-$r.txt" 2>&1 || { cat "$out/$g-$r.txt"; exit 1; }
  done
done
python3 - "$out" "$rounds" "${graphs[@]}" <<'PY'
import json, statistics, sys
out, rounds, graphs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
print(f"{'graph':22} {'batch':>5} {'images/s (median, range)':>28} {'sec/kimg':>9}")
for g in graphs:
    rates = []
    for r in range(1, rounds + 1):
        lines = [json.loads(l) for l in open(f"{out}/{g}-{r}/log.jsonl") if '"images_per_s"' in l]
        # Every window but the first: its images over its time.
        later = lines[1:]
        seconds = sum((b["wall_s"] - a["wall_s"]) for a, b in zip(lines, later))
        images = sum(b["images_per_s"] * (b["wall_s"] - a["wall_s"]) for a, b in zip(lines, later))
        rates.append(images / seconds)
    batch = json.load(open(f"graphs/{g}.json"))["nodes"]["batch"]["params"]["batch"]
    med = statistics.median(rates)
    spread = f"{med:.2f} ({min(rates):.2f}-{max(rates):.2f})"
    print(f"{g:22} {batch:>5} {spread:>28} {1000 / med:9.1f}")
PY
