#!/usr/bin/env python3
"""Trains one graph with several seeds and reports its metrics as mean and spread.

The papers' protocol, not one lucky run: each seed trains for the graph's budget (one thread per
run, --jobs runs side by side), is evaluated at its last checkpoint, and the figures are printed
per seed and as mean +- sample standard deviation (a markdown row for docs/quality.md). Runs go to
runs/seeds/NAME/seed-N and are resumed if present; summary.json there holds every figure.

  bench/seeds.py graphs/dcgan-r1-ema-mnist.json --include graphs/probes/mnist-quality.json
  bench/seeds.py GRAPH --seeds 1 2 3 --jobs 2 --name my-variant --set steps=500
  bench/seeds.py GRAPH --time-limit 15m    the same wall-clock budget for each run, not a step count

With --time-limit a seed whose run has been evaluated already is not trained again (a run stopped
short of its budget is resumed with a budget of its own: start it afresh for a fair figure).
"""
import argparse
import concurrent.futures
import fcntl
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, log):
    with open(log, "w") as out:
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode != 0:
        with open(log) as f:
            tail = f.read()[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited with {done.returncode}:\n{tail}")


def dependencies(files):
    """Runs that modules of these files start from ("weights": "runs/NAME")."""
    found = set()
    for f in files:
        with open(os.path.join(ROOT, f)) as text:
            found.update(re.findall(r'"(?:weights|from)":\s*"runs/([^"]+)"', text.read()))
    return sorted(found)


def newest_checkpoint(run_dir):
    """The newest checkpoint's file name in a run directory ("" when there is none)."""
    found = sorted(glob.glob(os.path.join(run_dir, "checkpoints", "step-*.pt")))
    return os.path.basename(found[-1]) if found else ""


def one_seed(args, seed, out_dir):
    run_dir = os.path.join(out_dir, f"seed-{seed}")
    include = ["--include", args.include] if args.include else []
    overrides = [x for s in args.set for x in ("--set", s)] + ["--set", f"seed={seed}"]
    eval_file = os.path.join(run_dir, "final-eval.json")
    budget = ["--time-limit", args.time_limit] if args.time_limit else []
    seconds_file = os.path.join(run_dir, "train-seconds.txt")
    if args.time_limit and os.path.exists(eval_file) and os.path.exists(seconds_file):
        with open(seconds_file) as f:
            seconds = float(f.read())
    else:
        before = newest_checkpoint(run_dir)
        start = time.time()
        run([args.cli, "run", args.graph, *include, *overrides, "--out", run_dir, "--resume", "--threads", "1",
             "--log-format", "jsonl", *budget], run_dir + ".log")
        seconds = time.time() - start
        if newest_checkpoint(run_dir) == before and os.path.exists(seconds_file):
            # A run already at its budget: nothing trained, so keep the seconds of the run that did.
            with open(seconds_file) as f:
                seconds = float(f.read())
        with open(seconds_file, "w") as f:
            f.write(f"{seconds:.1f}\n")
    run([args.cli, "eval", args.graph, *include, *overrides, "--checkpoint", run_dir, "--threads", "1",
         "--json", eval_file], run_dir + ".eval.log")
    with open(eval_file) as f:
        result = json.load(f)
    figures = {f"{node}.{name}": value for node, values in result["metrics"].items() for name, value in values.items()}
    return {"seed": seed, "step": result["step"], "seconds": round(seconds, 1), "metrics": figures}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--jobs", type=int, default=2, help="runs side by side (each on one thread)")
    parser.add_argument("--include", help="a fragment merged into the graph (a quality probe)")
    parser.add_argument("--set", action="append", default=[], help="PATH=VALUE override, as ganglion run's")
    parser.add_argument("--time-limit", help="train each run for this long (ganglion run --time-limit: 900, 15m)")
    parser.add_argument("--name", help="the runs' folder under runs/seeds (default: the graph's file name)")
    parser.add_argument("--cli", default=os.path.join(ROOT, "build", "editor-cli", "ganglion"))
    args = parser.parse_args()
    if not os.access(args.cli, os.X_OK):
        sys.exit(f"seeds.py: no {args.cli}: build first (scripts/setup.sh --no-train)")
    name = args.name or os.path.splitext(os.path.basename(args.graph))[0]
    out_dir = os.path.join(ROOT, "runs", "seeds", name)
    os.makedirs(out_dir, exist_ok=True)
    # Locked, so that two of these started together train a shared dependency once, not twice
    # into one folder.
    with open(os.path.join(ROOT, "runs", ".seeds-dependencies.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for dep in dependencies([args.graph] + ([args.include] if args.include else [])):
            if not glob.glob(os.path.join(ROOT, "runs", dep, "checkpoints", "step-*.pt")):
                print(f"training runs/{dep} first (a module reads it)", flush=True)
                run([args.cli, "run", f"graphs/{dep}.json", "--out", f"runs/{dep}", "--resume", "--log-format",
                     "jsonl"], os.path.join(ROOT, "runs", dep + ".log"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda s: one_seed(args, s, out_dir), args.seeds))
    metrics = sorted({m for r in results for m in r["metrics"]})
    summary = {"graph": args.graph, "include": args.include, "set": args.set, "time_limit": args.time_limit,
               "runs": results, "mean": {}, "sd": {}}
    print(f"{name}: seeds {', '.join(str(s) for s in args.seeds)}, steps {', '.join(str(r['step']) for r in results)}, "
          f"{statistics.mean(r['seconds'] for r in results):.0f} s per run")
    for m in metrics:
        values = [r["metrics"][m] for r in results if m in r["metrics"]]
        mean = statistics.mean(values)
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        summary["mean"][m], summary["sd"][m] = mean, sd
        print(f"  {m:28s} {mean:10.4g} +- {sd:<8.3g} ({', '.join(f'{v:.4g}' for v in values)})")
    with open(os.path.join(out_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
