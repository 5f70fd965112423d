#!/usr/bin/env python3
"""The first steps' losses of every shipped graph, on CPU with one thread: recorded before an engine
change, compared after it. The engine must train every graph exactly as before unless a change says
which random stream it moves and why.

  bench/first_losses.py record FILE [GRAPH...]    run each graph and write what it logged
  bench/first_losses.py compare FILE [GRAPH...]   run again and report every step that differs

GRAPH is a name in graphs/ (default: all of them). Each graph runs `--steps` iterations (default 50)
with `outputs.log.every=1`, in a scratch folder whose runs/ holds the classifier runs that the
conditional graphs' "weights" name (the classifiers are trained there first, for the same steps;
they are frozen in the GAN graphs, so their weights reach no GAN loss). compare without GRAPH runs
the graphs FILE holds; a graph FILE lists under "superseded" (changed on purpose after FILE was
recorded) is compared against the newer file named there instead.
"""

import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


# The instruction sets oneDNN and OpenBLAS choose their kernels by: the same on two machines means
# the same arithmetic, so the losses must then be bit-identical.
ISA_FLAGS = ("avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_tile")


def cpu_isa():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [flag for flag in ISA_FLAGS if flag in have]
    except OSError:
        pass
    return []


def cpu_id():
    """Family, model and cache size: two CPUs alike in these choose the same kernel blockings."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return "family %s model %s, cache %s" % (fields.get("cpu family", "?"), fields.get("model", "?"),
                                            fields.get("cache size", "?"))


def shipped_graphs():
    names = []
    for f in sorted(os.listdir(os.path.join(ROOT, "graphs"))):
        if f.endswith(".json") and f != "ganglion.schema.json":
            names.append(f[:-5])
    # Classifiers first: the conditional graphs load their weights.
    return sorted(names, key=lambda n: (not n.startswith("classifier-"), n))


def run_graph(cli, name, steps, work):
    out = os.path.join(work, "runs", name)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [cli, "run", os.path.join(ROOT, "graphs", name + ".json"), "--out", out, "--steps", str(steps),
           "--threads", "1", "--device", "cpu", "--log-format", "jsonl", "--set", "outputs.log.every=1"]
    done = subprocess.run(cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(name + ": ganglion run exited " + str(done.returncode) + ":\n" + done.stderr)
    losses = {}
    with open(os.path.join(out, "log.jsonl")) as f:
        for line in f:
            record = json.loads(line)
            if "losses" in record:
                # Only what was computed at that step: the log may also carry older values.
                current = record["losses"]
                computed = record.get("computed_at")
                if computed:
                    current = {p: v for p, v in current.items() if computed.get(p) == record["step"]}
                losses[str(record["step"])] = current
    return losses


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["record", "compare"])
    parser.add_argument("file")
    parser.add_argument("graphs", nargs="*")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=1, help="graphs run side by side (each on one thread)")
    parser.add_argument("--cli", default=os.path.join(ROOT, "build", "editor-cli", "ganglion"))
    args = parser.parse_args()

    names = args.graphs or shipped_graphs()
    if args.mode == "compare" and not args.graphs:
        # A file recorded for some graphs (one changed on purpose later) is compared on those.
        with open(args.file) as f:
            document = json.load(f)
        names = [n for n in names if n in document["graphs"] and n not in document.get("superseded", {})]
    work = tempfile.mkdtemp(prefix="ganglion-first-losses-")
    os.makedirs(os.path.join(work, "runs"))
    try:
        recorded = None
        if args.mode == "compare":
            with open(args.file) as f:
                recorded = json.load(f)
        # Classifier runs that later graphs load, even when only some graphs are named.
        needed = [n for n in shipped_graphs() if n.startswith("classifier-") and n not in names]
        results = {}
        # Classifiers first (later graphs load them), then the rest side by side.
        first = [n for n in needed + names if n.startswith("classifier-")]
        rest = [n for n in names if not n.startswith("classifier-")]
        for batch in (first, rest):
            with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
                futures = {n: pool.submit(run_graph, args.cli, n, args.steps, work) for n in batch}
                for n in batch:
                    losses = futures[n].result()
                    print("==", n, len(losses), "steps", flush=True)
                    if n in names:
                        results[n] = losses
        if args.mode == "record":
            document = {
                "what": "losses logged at each of the first steps of every shipped graph, CPU, 1 thread",
                "command": "bench/first_losses.py record " + args.file,
                "cpu": cpu_model(),
                "isa": cpu_isa(),
                "cpu_id": cpu_id(),
                "steps": args.steps,
                "graphs": results,
            }
            with open(args.file, "w") as f:
                json.dump(document, f, indent=1, sort_keys=True)
                f.write("\n")
            print("wrote", args.file)
            return 0
        failed = 0
        if (recorded.get("cpu"), recorded.get("isa"), recorded.get("cpu_id")) != (cpu_model(), cpu_isa(), cpu_id()):
            print("note: recorded on", recorded.get("cpu"), recorded.get("cpu_id"), recorded.get("isa"),
                  "and running on", cpu_model(), cpu_id(), cpu_isa(), "- other kernels may round differently")
        for name, losses in results.items():
            if name in recorded.get("superseded", {}):
                # Changed on purpose after this recording: compared against the newer one.
                print(name + ": recorded again in " + recorded["superseded"][name])
                continue
            want = recorded["graphs"].get(name)
            if want is None:
                print(name + ": not in " + args.file)
                failed += 1
                continue
            bad = [s for s in want if s in losses and want[s] != losses[s]]
            missing = [s for s in want if s not in losses]
            if bad or missing:
                failed += 1
                first = min(bad, key=int) if bad else None
                print(name + ": " + str(len(bad)) + " steps differ" +
                      (" (first: step " + first + ", " + json.dumps(want[first]) + " then, " +
                       json.dumps(losses[first]) + " now)" if first else "") +
                      (", " + str(len(missing)) + " steps missing" if missing else ""))
            else:
                print(name + ": " + str(len(want)) + " steps bit-identical")
        return 1 if failed else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
