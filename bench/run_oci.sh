#!/usr/bin/env bash
# Container start with gantry-oci against runc and crun on the same busybox bundle, and the
# unshare floor; one table of medians and ratios.
#
#   bench/run_oci.sh [BUILD_DIR]      (root; `make bench` runs it at the end of bench/run.sh)
#
# Everything is measured inside ONE private mount namespace in which an empty file hides
# /sys/fs/cgroup/unified/cgroup.controllers: crun 1.8 refuses this host's hybrid cgroups
# otherwise, and every runtime is measured under the same conditions.
#
# Measures:
#   start     `RT --root STATE run --bundle B ID` of /bin/true (all of runc spec's namespaces,
#             cgroups through linux.cgroupsPath) for gantry-oci, runc and crun, and the floor
#             `unshare --mount --pid --uts --ipc --net --fork /bin/true`. hyperfine runs
#             OCI_ROUNDS (default 5) rounds over all the commands, OCI_RUNS (default 20) runs
#             each, so the commands alternate; the median is over all runs of a command.
#   seq100    100 sequential runs of the same, one shell loop timed as one command,
#             OCI_SEQ_ROUNDS (default 3) rounds, alternated the same way.
#   memory    the smallest linux.resources.memory.limit under which /bin/true still runs (exit
#             0), per runtime: bisection between 64 KiB and 64 MiB at 4 KiB granularity.
# OCI_SECTIONS picks among "start seq100 memory" (default all). OCI_RUNTIMES overrides the
# runtime list (default: gantry-oci when BUILD_DIR/bin/gantry-oci exists, runc, crun); an entry
# NAME=PATH adds any runc-compatible binary under that name (e.g. an older gantry-oci build,
# `OCI_RUNTIMES="gantry-oci gantry-oci-old=/path/gantry-oci runc crun"`), measured alternated
# with the others.
# OCI_STATE_TMPFS=1 keeps every runtime's --root on a tmpfs mounted in the namespace (by
# default it is on $GANTRY_BENCH_DIR's filesystem; this VM's /run is ext4, not tmpfs).
# Raw hyperfine JSON and the summary go to $GANTRY_BENCH_DIR/results/oci-<time>/
# (default /var/tmp/gantry-bench).
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${GANTRY_BENCH_DIR:-/var/tmp/gantry-bench}
ROUNDS=${OCI_ROUNDS:-5}
RUNS=${OCI_RUNS:-20}
SEQ_ROUNDS=${OCI_SEQ_ROUNDS:-3}
SECTIONS=${OCI_SECTIONS:-start seq100 memory}

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run_oci.sh: needs root (namespaces, cgroups, mounts)" >&2
  exit 1
fi

# Step 1: enter the private mount namespace once, hide the cgroup2 controller list there, and
# run the rest of this script inside it.
if [ "${GANTRY_OCI_BENCH_NS:-}" != 1 ]; then
  missing=()
  for tool in hyperfine:hyperfine jq:jq runc:runc crun:crun busybox:busybox-static; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
  done
  if ((${#missing[@]})); then
    echo "bench/run_oci.sh: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  # `make bench` has built everything; a build dir without gantry-oci measures the peers only.
  [ -x "$BUILD/bin/gantry-oci" ] ||
    echo "bench/run_oci.sh: no $BUILD/bin/gantry-oci; measuring the peers only" >&2
  export GANTRY_OCI_BENCH_NS=1
  exec unshare --mount --propagation private -- "$0" "$@"
fi

mkdir -p "$OUT/oci"
EMPTY="$OUT/oci/empty-cgroup.controllers"
: >"$EMPTY"
if [ -e /sys/fs/cgroup/unified/cgroup.controllers ]; then
  mount --bind "$EMPTY" /sys/fs/cgroup/unified/cgroup.controllers
fi

STATE_BASE="$OUT/oci"
if [ "${OCI_STATE_TMPFS:-0}" = 1 ]; then
  STATE_BASE="$OUT/oci/state-tmpfs"
  mkdir -p "$STATE_BASE"
  mount -t tmpfs -o size=64m gantry-oci-bench "$STATE_BASE"
  trap 'umount "$STATE_BASE" 2>/dev/null || true' EXIT
fi

RES="$OUT/results/oci-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RES"
SUMMARY="$RES/summary.md"
BUNDLE="$OUT/oci/bundle"
"$HERE/oci/make_bundle.sh" "$BUNDLE" --cgroups-path /gantry-bench/start

declare -A RT_BIN
if [ -n "${OCI_RUNTIMES:-}" ]; then
  read -r -a RT_ENTRIES <<<"$OCI_RUNTIMES"
else
  RT_ENTRIES=()
  [ -x "$BUILD/bin/gantry-oci" ] && RT_ENTRIES+=(gantry-oci)
  RT_ENTRIES+=(runc crun)
fi
RTS=()
for entry in "${RT_ENTRIES[@]}"; do
  rt=${entry%%=*}
  RTS+=("$rt")
  case $entry in
    *=*) RT_BIN[$rt]=$(cd "$(dirname "${entry#*=}")" && pwd)/$(basename "${entry#*=}") ;;
    gantry-oci) RT_BIN[$rt]=$(cd "$BUILD/bin" && pwd)/gantry-oci ;;
    *) RT_BIN[$rt]=$(command -v "$rt") ;;
  esac
done

# rt_cmd RT ID BUNDLE: the command line of one run (each runtime keeps its state apart).
rt_cmd() {
  echo "${RT_BIN[$1]} --root $STATE_BASE/state-$1 run --bundle $3 $2"
}

# One checked run per runtime first: a runtime that cannot run the bundle is reported and left
# out rather than aborting the whole benchmark.
OK_RTS=()
for rt in "${RTS[@]}"; do
  mkdir -p "$STATE_BASE/state-$rt"
  if out=$(timeout 30 $(rt_cmd "$rt" "check-$rt" "$BUNDLE") 2>&1); then
    OK_RTS+=("$rt")
  else
    echo "bench/run_oci.sh: $rt cannot run the bundle, left out: $out" >&2
    echo "$rt: left out, its check run failed: $(echo "$out" | tail -n 3 | tr '\n' ' ')" >>"$RES/skipped.txt"
    timeout 10 "${RT_BIN[$rt]}" --root "$STATE_BASE/state-$rt" delete --force "check-$rt" >/dev/null 2>&1 || true
  fi
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# bench/run_oci.sh $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(uname -r)"
  echo "load average at start: $LOAD_BEFORE; runtimes: ${OK_RTS[*]}; state roots in $STATE_BASE ($(findmnt -n -o FSTYPE -T "$STATE_BASE"))"
  for rt in "${OK_RTS[@]}"; do
    echo "- $rt: ${RT_BIN[$rt]} ($("${RT_BIN[$rt]}" --version 2>/dev/null | head -n 1))"
  done
  [ -f "$RES/skipped.txt" ] && sed 's/^/- /' "$RES/skipped.txt"
} >"$SUMMARY"

# paired NAME ROUNDS HYPERFINE_ARGS...: ROUNDS hyperfine runs over the same commands, merged
# into $RES/NAME.json: [{command, median, times}].
paired() {
  local name=$1 rounds=$2 r
  shift 2
  for ((r = 1; r <= rounds; r++)); do
    hyperfine --style basic --export-json "$RES/$name.r$r.json" "$@" >&2
  done
  jq -s '[.[].results[]] | group_by(.command)
    | map({command: .[0].command, times: (map(.times) | add | sort)})
    | map(. + {median: (.times | if length % 2 == 1 then .[(length - 1) / 2]
                                else (.[length / 2 - 1] + .[length / 2]) / 2 end),
               min: .times[0], runs: (.times | length)})' \
    "$RES/$name".r*.json >"$RES/$name.json"
}

median_of() { jq -r --arg c "$2" '.[] | select(.command == $c) | .median' "$RES/$1.json"; }

# table NAME UNIT_SCALE UNIT DIGITS: medians (in UNIT, DIGITS decimals) with ratios to crun and
# to the floor.
table() {
  local name=$1 scale=$2 unit=$3 digits=$4 crun_s floor_s
  crun_s=$(median_of "$name" crun)
  floor_s=$(median_of "$name" floor)
  {
    echo
    echo "## $name (load after: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "| command | runs | median $unit | min $unit | vs crun | vs floor |"
    echo "|---|---|---|---|---|---|"
    jq -r --arg crun "${crun_s:-}" --arg floor "${floor_s:-}" --argjson scale "$scale" \
      --argjson p "$((10 ** digits))" '
      def ratio($ref): if $ref == "" then "-" else (.median / ($ref | tonumber) * 100 | round / 100 | tostring) end;
      sort_by(.median) | .[] | "| \(.command) | \(.runs) | \(.median * $scale * $p | round / $p) | \(.min * $scale * $p | round / $p) | \(ratio($crun)) | \(ratio($floor)) |"' \
      "$RES/$name.json"
  } >>"$SUMMARY"
}

FLOOR="unshare --mount --pid --uts --ipc --net --fork /bin/true"

section_start() {
  local args=(-N --runs "$RUNS" --warmup 2 -n floor "$FLOOR" -n "/bin/true" /bin/true) rt
  for rt in "${OK_RTS[@]}"; do
    args+=(-n "$rt" "$(rt_cmd "$rt" "bench-$rt" "$BUNDLE")")
  done
  paired start "$ROUNDS" "${args[@]}"
  table start 1000 ms 1
  {
    echo
    echo "Commands: floor = \`$FLOOR\`; RT = \`RT --root $STATE_BASE/state-RT run --bundle $BUNDLE bench-RT\`" \
      "(bundle: bench/oci/make_bundle.sh, args /bin/true, cgroupsPath /gantry-bench/start)."
  } >>"$SUMMARY"
}

section_seq100() {
  local args=(--runs 1 -n floor "for i in \$(seq 100); do $FLOOR; done") rt
  for rt in "${OK_RTS[@]}"; do
    args+=(-n "$rt" "for i in \$(seq 100); do $(rt_cmd "$rt" "seq-$rt-\$i" "$BUNDLE") || exit 1; done")
  done
  paired seq100 "$SEQ_ROUNDS" "${args[@]}"
  table seq100 1 s 2
}

# runs_under RT LIMIT: true when /bin/true exits 0 under memory.limit = LIMIT bytes. A failed
# attempt is cleaned up (delete --force; the cgroup goes with it).
MEMB="$OUT/oci/bundle-mem"
runs_under() {
  local rt=$1 limit=$2 id="mem-$1-$2"
  jq --argjson l "$limit" '.linux.resources.memory = {limit: $l}' "$MEMB/config.base.json" \
    >"$MEMB/config.json"
  if timeout 30 $(rt_cmd "$rt" "$id" "$MEMB") >/dev/null 2>&1; then
    return 0
  fi
  timeout 10 "${RT_BIN[$rt]}" --root "$STATE_BASE/state-$rt" delete --force "$id" >/dev/null 2>&1 || true
  return 1
}

section_memory() {
  "$HERE/oci/make_bundle.sh" "$MEMB" --cgroups-path /gantry-bench/mem
  cp "$MEMB/config.json" "$MEMB/config.base.json"
  local rt lo hi mid page=4096
  {
    echo
    echo "## memory: smallest linux.resources.memory.limit under which /bin/true runs"
    echo "| runtime | smallest limit that runs | largest that fails |"
    echo "|---|---|---|"
  } >>"$SUMMARY"
  for rt in "${OK_RTS[@]}"; do
    # Invariant: hi runs, lo fails (or is the bottom of the range).
    lo=$((64 * 1024))
    hi=$((64 * 1024 * 1024))
    if ! runs_under "$rt" "$hi"; then
      echo "| $rt | fails at 64 MiB | |" >>"$SUMMARY"
      continue
    fi
    if runs_under "$rt" "$lo"; then
      echo "| $rt | <= 64 KiB | |" >>"$SUMMARY"
      continue
    fi
    while ((hi - lo > page)); do
      mid=$(((lo + hi) / 2 / page * page))
      ((mid <= lo)) && mid=$((lo + page))
      if runs_under "$rt" "$mid"; then hi=$mid; else lo=$mid; fi
    done
    # Confirm the edge once more: a limit near the edge can fail by chance.
    local note=""
    runs_under "$rt" "$hi" || note=" (failed on a second try)"
    echo "| $rt | $((hi / 1024)) KiB$note | $((lo / 1024)) KiB |" >>"$SUMMARY"
    echo "memory: $rt runs at $hi bytes, fails at $lo" >&2
  done
}

for s in $SECTIONS; do
  case $s in
    start) section_start ;;
    seq100) section_seq100 ;;
    memory) section_memory ;;
    *) echo "bench/run_oci.sh: unknown section '$s'" >&2; exit 2 ;;
  esac
done

if [ -f "$RES/start.json" ] && printf '%s\n' "${OK_RTS[@]}" | grep -qx gantry-oci; then
  g=$(median_of start gantry-oci)
  c=$(median_of start crun)
  f=$(median_of start floor)
  {
    echo
    echo "Goals (start medians): gantry-oci / crun = $(jq -n "$g / $c * 100 | round / 100") (goal <= 0.5)," \
      "gantry-oci / floor = $(jq -n "$g / $f * 100 | round / 100") (goal <= 1.5)"
  } >>"$SUMMARY"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SUMMARY"
# The runtimes remove their containers' cgroups; the shared parent goes here (when empty).
find /sys/fs/cgroup/*/gantry-bench -depth -type d -exec rmdir {} \; 2>/dev/null || true
cat "$SUMMARY"
echo "(raw results in $RES)" >&2
