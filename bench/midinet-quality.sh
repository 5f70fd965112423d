#!/usr/bin/env bash
# MidiNet's three models measured as docs/quality.md reports them: each graph trained with seeds
# 1, 2 and 3 (bench/seeds.py: one thread a run, two side by side, runs/seeds/midinet-N/seed-S),
# then every run and a generator after one iteration scored on all the held-out bars
# (midi/bar-statistics, midi/chord-tones against each bar's own chord and, through
# graphs/probes/midinet-chord-floor.json, against another bar's), as mean and standard deviation.
#   bench/midinet-quality.sh [STEPS]     default: the graphs' 4000
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-}
held_out=1512  # 21 full batches of 72 of the 1,554 bars of the 29 held-out files (every 5th of 147 songs)
set_steps=(); [ -n "$steps" ] && set_steps=(--set "steps=$steps")
for n in 1 2 3; do
  python3 bench/seeds.py "graphs/midinet-$n.json" --seeds 1 2 3 --jobs 2 "${set_steps[@]}"
done
python3 - "$held_out" <<'PY'
import json, os, statistics, subprocess, sys
samples = sys.argv[1]
cli = "build/editor-cli/ganglion"
probe = ["--include", "graphs/probes/midinet-chord-floor.json"]
keys = ["generated.empty_rate", "generated.pitch_classes", "generated.in_scale", "generated.notes_per_bar",
        "generated_chord.chord_tones", "generated_other_chord.chord_tones"]
real = ["held_out.empty_rate", "held_out.pitch_classes", "held_out.in_scale", "held_out.notes_per_bar",
        "held_out_chord.chord_tones", "held_out_other_chord.chord_tones"]

def figures(graph, run):
    out = run + "/held-out-eval.json"
    subprocess.run([cli, "eval", graph, *probe, "--checkpoint", run, "--samples", samples, "--threads", "1",
                    "--json", out], check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        data = json.load(f)
    flat = {}
    for node, values in data["metrics"].items():
        for port, v in values.items():
            flat[f"{node}.{port}"] = v
    return flat

def cell(values):
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"

rows = []
for n in (1, 2, 3):
    graph = f"graphs/midinet-{n}.json"
    untrained = f"runs/seeds/midinet-{n}/untrained"
    if not os.path.isdir(untrained + "/checkpoints"):
        subprocess.run([cli, "run", graph, "--out", untrained, "--steps", "1", "--threads", "1"], check=True,
                       stdout=subprocess.DEVNULL)
    u = figures(graph, untrained)
    seeds = [figures(graph, f"runs/seeds/midinet-{n}/seed-{s}") for s in (1, 2, 3)]
    if n == 1:
        rows.append(("held-out real bars", [cell([u[k]]) for k in real]))
    rows.append((f"midinet-{n}, 1 iteration", [cell([u[k]]) for k in keys]))
    rows.append((f"**midinet-{n}**", [cell([s[k] for s in seeds]) for k in keys]))
print("| bars | empty | pitch classes | in scale | notes per bar | chord tones | other bar's chord |")
print("|---|---|---|---|---|---|---|")
for name, cells in rows:
    print(f"| {name} | " + " | ".join(cells) + " |")
PY
