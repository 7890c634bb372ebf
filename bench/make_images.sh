#!/usr/bin/env bash
# Builds the benchmark images with our own tools, deterministically (bench/gen_tree.cpp: seeded
# content, fixed mtimes), under $GANTRY_BENCH_DIR (default /var/tmp/gantry-bench):
#
#   images/gzip:v4, images/zstd:v4   OCI layouts; 4 layers, about 100 MB unpacked. Layer 1 is a
#       generated tree (25 MB: many small files, some big ones; half text-like, half random)
#       made by `gantry import`; layers 2-4 each `gantry mount` the previous image, add, rewrite,
#       append to and delete files (and one directory) with `gen_tree mutate`, and
#       `gantry repack`. The zstd twin gets the same trees with --compression zstd.
#   images/read:v2   the read-throughput tree of bench/notes-fuse.md, 1.03 GB over 2 layers
#       (uncompressed): lower 24 x 20 MiB + 4,000 files of 4-64 KiB in usr/d0..d99, upper
#       80 x 3 MiB + 4,000 more small files in the same directories (merged dirs).
#
# Usage: bench/make_images.sh BUILD_DIR    (idempotent: an image already built is kept)
set -euo pipefail
BUILD=${1:-build}
BIN=$(cd "$BUILD/bin" && pwd)
G="$BIN/gantry"
GEN="$BIN/gen_tree"
OUT=${GANTRY_BENCH_DIR:-/var/tmp/gantry-bench}
mkdir -p "$OUT/images" "$OUT/work"
W="$OUT/work"

log() { echo "make_images: $*" >&2; }

# layered_image NAME COMPRESSION: the 4-layer image in $OUT/images/NAME.
layered_image() {
  local name=$1 comp=$2 img="$OUT/images/$1"
  if [ -f "$img/.complete" ]; then log "$name: present"; return; fi
  rm -rf "$img" "$W/base-$name" "$W/root-$name"
  log "$name: layer 1 (generated tree, 25 MB)"
  "$GEN" tree "$W/base-$name" 1 25000000 50
  "$G" import "$W/base-$name" "oci:$img:v1" --compression "$comp" >/dev/null
  rm -rf "$W/base-$name"
  local i
  for i in 2 3 4; do
    log "$name: layer $i (mount, mutate, repack)"
    mkdir -p "$W/mnt-$name"
    "$G" --root "$W/root-$name" mount --snapshotter overlay "oci:$img:v$((i - 1))" "$W/mnt-$name"
    "$GEN" mutate "$W/mnt-$name" "$i" 22000000
    "$G" --root "$W/root-$name" repack "$W/mnt-$name" "oci:$img:v$i" --compression "$comp" \
      >/dev/null
    "$G" --root "$W/root-$name" umount "$W/mnt-$name"
  done
  rm -rf "$W/root-$name" "$W/mnt-$name"
  touch "$img/.complete"
}

read_image() {
  local img="$OUT/images/read"
  if [ -f "$img/.complete" ]; then log "read: present"; return; fi
  rm -rf "$img" "$W/read-lower" "$W/read-root" "$W/read-mnt" "$W/read-upper"
  log "read: lower (24 x 20 MiB + 4,000 small files)"
  "$GEN" bulk "$W/read-lower" 2 24 20971520 4000
  "$G" import "$W/read-lower" "oci:$img:v1" --compression none >/dev/null
  rm -rf "$W/read-lower"
  log "read: upper (80 x 3 MiB + 4,000 small files), through a mount and repack"
  mkdir -p "$W/read-mnt"
  "$G" --root "$W/read-root" mount --snapshotter overlay "oci:$img:v1" "$W/read-mnt"
  "$GEN" bulk "$W/read-mnt" 1 80 3145728 4000
  "$G" --root "$W/read-root" repack "$W/read-mnt" "oci:$img:v2" --compression none >/dev/null
  "$G" --root "$W/read-root" umount "$W/read-mnt"
  rm -rf "$W/read-root" "$W/read-mnt"
  touch "$img/.complete"
}

layered_image gzip gzip
layered_image zstd zstd
read_image
for name in gzip zstd read; do
  tag=v4; [ "$name" = read ] && tag=v2
  log "$name: $("$G" layers "oci:$OUT/images/$name:$tag" | wc -l) lines of 'gantry layers'," \
    "$(du -sb "$OUT/images/$name/blobs" | cut -f1) bytes of blobs"
done
