#!/usr/bin/env bash
# Runs the benchmarks of bench/RESULTS.md with the peers side by side and prints one table.
#
#   bench/run.sh BUILD_DIR        (root; `make bench` runs it after `make build`)
#
# Environment: GANTRY_BENCH_DIR (images and scratch, default /var/tmp/gantry-bench),
# BENCH_ROUNDS (default 3) x BENCH_RUNS (default 3): hyperfine is run ROUNDS times over all
# the commands of a comparison, RUNS runs each, so the commands alternate and a burst of load
# lands on all of them; the median is over every run of a command. BENCH_SECTIONS picks among
# "unpack read snapshot layers oci" (default all).
#
# Sections:
#   unpack    the 4-layer image (gzip, then zstd): gantry unpack and gantry mount per
#             snapshotter (a fresh --root each run; umount in the next run's prepare) against
#             the floor: sha256sum of the 4 blobs, then `gunzip -c | tar -x` (zstd -dc) of
#             each into one directory.
#   read      the 1 GB tree, warm and cold (drop_caches before each run), `tar -cf - DIR | cat`
#             through: the flattened directory, kernel overlay, our overlay snapshotter's mount,
#             fuse-overlayfs, gantry-fuse on the same lowers, our fuse snapshotter's mount.
#   snapshot  bench_snapshot (prepare, view, commit, remove, mount+unmount per backend).
#   layers    bench_layers (inflate+hash, sha256, apply_layer, diffs).
#   oci       bench/run_oci.sh: gantry-oci, runc, crun and the unshare floor (its own table).
set -euo pipefail
BUILD=${1:-build}
ROUNDS=${BENCH_ROUNDS:-3}
RUNS=${BENCH_RUNS:-3}
SECTIONS=${BENCH_SECTIONS:-unpack read snapshot layers oci}
OUT=${GANTRY_BENCH_DIR:-/var/tmp/gantry-bench}
HERE=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "bench: needs root (mounts, FUSE, drop_caches)" >&2
  exit 1
fi
missing=()
for tool in hyperfine:hyperfine pigz:pigz zstd:zstd fuse-overlayfs:fuse-overlayfs jq:jq \
  fusermount3:fuse3; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
  echo "bench: installing ${missing[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
for t in gantry gantry-fuse bench_snapshot bench_layers gen_tree; do
  if [ ! -x "$BUILD/bin/$t" ]; then
    cmake --build "$BUILD" --target gantry gantry-fuse bench_tools
    break
  fi
done
BIN=$(cd "$BUILD/bin" && pwd)
G="$BIN/gantry"
"$HERE/make_images.sh" "$BUILD"

RES="$OUT/results/$(date +%Y%m%d-%H%M%S)"
RUN="$OUT/run"
mkdir -p "$RES" "$RUN"
SUMMARY="$RES/summary.md"
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# bench/run.sh $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(uname -r)"
  echo "load average at start: $LOAD_BEFORE; rounds x runs: $ROUNDS x $RUNS"
} >"$SUMMARY"

# Mounts made here are undone on exit, whatever happens.
MOUNTED=()
cleanup() {
  local m
  for m in "${MOUNTED[@]}"; do
    case $m in
      gantry:*) m=${m#gantry:}; "$G" --root "${m%%|*}" umount "${m#*|}" >/dev/null 2>&1 || true ;;
      *) umount "$m" 2>/dev/null || fusermount3 -u "$m" 2>/dev/null || true ;;
    esac
  done
}
trap cleanup EXIT

# paired NAME HYPERFINE_ARGS...: ROUNDS hyperfine runs over the same commands; writes
# $RES/NAME.json: [{command, median, times}] with every run's time of a command.
paired() {
  local name=$1 r
  shift
  for ((r = 1; r <= ROUNDS; r++)); do
    hyperfine --style basic --runs "$RUNS" --export-json "$RES/$name.r$r.json" "$@" >&2
  done
  jq -s '[.[].results[]] | group_by(.command)
    | map({command: .[0].command, times: (map(.times) | add | sort)})
    | map(. + {median: (.times | if length % 2 == 1 then .[(length - 1) / 2]
                                else (.[length / 2 - 1] + .[length / 2]) / 2 end)})' \
    "$RES/$name".r*.json >"$RES/$name.json"
}

median_of() { jq -r --arg c "$2" '.[] | select(.command == $c) | .median' "$RES/$1.json"; }

# table NAME REFERENCE [BYTES]: median seconds (and MB/s when BYTES), ratio to REFERENCE.
table() {
  local name=$1 ref=$2 bytes=${3:-}
  local ref_s
  ref_s=$(median_of "$name" "$ref")
  {
    echo
    echo "## $name (ratio: median / median of '$ref'; load after: $(cut -d' ' -f1-3 /proc/loadavg))"
    if [ -n "$bytes" ]; then
      echo "| command | median s | MB/s | speed vs $ref |"
      echo "|---|---|---|---|"
    else
      echo "| command | median s | time vs $ref |"
      echo "|---|---|---|"
    fi
    jq -r --argjson ref "$ref_s" --arg bytes "$bytes" '.[] |
      if $bytes != "" then
        "| \(.command) | \(.median * 1000 | round / 1000) | \(($bytes | tonumber) / .median / 1e6 | round) | \($ref / .median * 100 | round / 100) |"
      else
        "| \(.command) | \(.median * 1000 | round / 1000) | \(.median / $ref * 100 | round / 100) |"
      end' "$RES/$name.json"
  } >>"$SUMMARY"
}

layer_blobs() {  # IMAGE_DIR TAG: the layer blob paths, bottom first
  "$G" layers "oci:$1:$2" | awk -v d="$1/blobs/sha256/" '/^layer/ {sub("sha256:", "", $3); print d $3}'
}

section_unpack() {
  local comp dec img blobs floor b
  for comp in gzip zstd; do
    img="$OUT/images/$comp"
    dec="gunzip -c"
    [ "$comp" = zstd ] && dec="zstd -dcq"
    blobs=$(layer_blobs "$img" v4 | tr '\n' ' ')
    floor="sha256sum $blobs >/dev/null && mkdir $RUN/floor"
    for b in $blobs; do floor+=" && $dec $b | tar -x -C $RUN/floor"; done
    local args=(-n floor --prepare "rm -rf $RUN/floor; sync" "$floor"
      -n "gantry unpack" --prepare "rm -rf $RUN/flat; sync" "$G unpack oci:$img:v4 $RUN/flat")
    local sn
    for sn in copy overlay fuse; do
      mkdir -p "$RUN/mnt-$sn"
      MOUNTED+=("gantry:$RUN/root-$sn|$RUN/mnt-$sn")
      args+=(-n "gantry mount $sn"
        --prepare "$G --root $RUN/root-$sn umount $RUN/mnt-$sn >/dev/null 2>&1; rm -rf $RUN/root-$sn; sync"
        "$G --root $RUN/root-$sn mount --snapshotter $sn oci:$img:v4 $RUN/mnt-$sn")
    done
    paired "unpack-$comp" "${args[@]}"
    table "unpack-$comp" floor
    for sn in copy overlay fuse; do
      "$G" --root "$RUN/root-$sn" umount "$RUN/mnt-$sn" >/dev/null 2>&1 || true
      rm -rf "$RUN/root-$sn"
    done
    rm -rf "$RUN/floor" "$RUN/flat"
  done
}

section_read() {
  local img="$OUT/images/read" R="$RUN/read"
  mkdir -p "$R"
  [ -d "$R/plain" ] || "$G" unpack "oci:$img:v2" "$R/plain"
  local m
  for m in ov fo gf gfs kov; do
    mkdir -p "$R/mnt-$m" "$R/up-$m" "$R/work-$m"
    umount "$R/mnt-$m" 2>/dev/null || true
  done
  "$G" --root "$R/root-ov" umount "$R/mnt-ov" >/dev/null 2>&1 || true
  "$G" --root "$R/root-gfs" umount "$R/mnt-gfs" >/dev/null 2>&1 || true
  "$G" --root "$R/root-ov" mount --snapshotter overlay "oci:$img:v2" "$R/mnt-ov"
  MOUNTED+=("gantry:$R/root-ov|$R/mnt-ov")
  "$G" --root "$R/root-gfs" mount --snapshotter fuse "oci:$img:v2" "$R/mnt-gfs"
  MOUNTED+=("gantry:$R/root-gfs|$R/mnt-gfs")
  # The kernel overlay, fuse-overlayfs and gantry-fuse get the same lowers as our overlay mount.
  local lowers
  lowers=$(findmnt -n -o OPTIONS "$R/mnt-ov" | tr ',' '\n' | sed -n 's/^lowerdir=//p')
  rm -rf "$R"/up-* "$R"/work-*
  mkdir -p "$R"/up-{kov,fo,gf} "$R"/work-{kov,fo}
  mount -t overlay overlay -o "lowerdir=$lowers,upperdir=$R/up-kov,workdir=$R/work-kov" "$R/mnt-kov"
  MOUNTED+=("$R/mnt-kov")
  fuse-overlayfs -o "lowerdir=$lowers,upperdir=$R/up-fo,workdir=$R/work-fo" "$R/mnt-fo"
  MOUNTED+=("$R/mnt-fo")
  "$BIN/gantry-fuse" -o "lowerdir=$lowers,upperdir=$R/up-gf" --pid-file "$R/gf.pid" "$R/mnt-gf"
  MOUNTED+=("$R/mnt-gf")
  local bytes
  bytes=$(find "$R/plain" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}')
  echo "read: $bytes bytes; lowers $lowers" >&2
  local names=(plain "kernel overlay" "gantry overlay" fuse-overlayfs gantry-fuse "gantry fuse")
  local dirs=("$R/plain" "$R/mnt-kov" "$R/mnt-ov" "$R/mnt-fo" "$R/mnt-gf" "$R/mnt-gfs")
  local warm=() cold=() i
  for i in "${!names[@]}"; do
    warm+=(-n "${names[$i]}" "tar -cf - -C ${dirs[$i]} . | cat >/dev/null")
    cold+=(-n "${names[$i]}" "tar -cf - -C ${dirs[$i]} . | cat >/dev/null")
  done
  paired read-warm --warmup 1 "${warm[@]}"
  table read-warm plain "$bytes"
  paired read-cold --prepare "sync; echo 3 >/proc/sys/vm/drop_caches" "${cold[@]}"
  table read-cold plain "$bytes"
  {
    echo
    echo "gantry-fuse / fuse-overlayfs: warm $(jq -r '[.[] | select(.command == "fuse-overlayfs" or .command == "gantry-fuse")] | (.[0].median / .[1].median * 100 | round / 100)' "$RES/read-warm.json")x," \
      "cold $(jq -r '[.[] | select(.command == "fuse-overlayfs" or .command == "gantry-fuse")] | (.[0].median / .[1].median * 100 | round / 100)' "$RES/read-cold.json")x"
    echo "gantry overlay / kernel overlay (time): warm $(jq -r '[.[] | select(.command == "gantry overlay" or .command == "kernel overlay")] | (.[0].median / .[1].median * 100 | round / 100)' "$RES/read-warm.json")," \
      "cold $(jq -r '[.[] | select(.command == "gantry overlay" or .command == "kernel overlay")] | (.[0].median / .[1].median * 100 | round / 100)' "$RES/read-cold.json")"
  } >>"$SUMMARY"
}

# gbench NAME BINARY: median of 3 repetitions of every benchmark, as a table.
gbench() {
  local name=$1 bin=$2
  (cd "$RUN" && "$BIN/$bin" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
    --benchmark_out="$RES/$name.json" --benchmark_out_format=json >&2)
  {
    echo
    echo "## $name ($bin, median of 3 repetitions; load after: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "| benchmark | time | MB/s | counters |"
    echo "|---|---|---|---|"
    jq -r '.benchmarks[] | select(.aggregate_name == "median") |
      "| \(.run_name) \(.label // "") | \(.real_time * 100 | round / 100) \(.time_unit) | \(if .bytes_per_second then (.bytes_per_second / 1e6 | round) else "" end) | \([to_entries[] | select(.key == "ratio" or .key == "entries/s" or .key == "files/s" or .key == "layer_bytes") | "\(.key)=\(.value * 100 | round / 100)"] | join(" ")) |"' \
      "$RES/$name.json"
  } >>"$SUMMARY"
}

for s in $SECTIONS; do
  case $s in
    unpack) section_unpack ;;
    read) section_read ;;
    snapshot) gbench snapshot bench_snapshot ;;
    layers) gbench layers bench_layers ;;
    oci) "$HERE/run_oci.sh" "$BUILD" >>"$SUMMARY" ;;
    *) echo "bench: unknown section '$s'" >&2; exit 2 ;;
  esac
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SUMMARY"
cat "$SUMMARY"
echo "(raw results in $RES)" >&2
