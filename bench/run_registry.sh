#!/usr/bin/env bash
# gantry-registry and Gantry's registry client against the distribution registry, skopeo, ctr
# and podman, side by side in one invocation; one table of medians and ratios.
#
#   bench/run_registry.sh [BUILD_DIR]     (root: containerd and podman; builds nothing itself,
#                                          needs BUILD_DIR/bin/regload, from bench/registry/)
#
# Sections (REG_SECTIONS, default "server client"):
#   server   each server (gantry-registry when BUILD_DIR/bin/gantry-registry exists, and
#            docker-registry 2.8) runs on 127.0.0.1 with its storage under $LAB; REG_ROUNDS
#            (default 5) rounds, the servers alternating inside each round, of:
#              push-big    one fresh 100 MB random blob: POST, one streaming PATCH, PUT ?digest=
#              pull-big    GET of that blob (bytes dropped)
#              push-small  REG_SMALL_N (default 400) distinct 4 KiB blobs, 4 connections
#                          (POST + PUT ?digest= each)
#              head        REG_HEAD_N (default 3000) HEADs of a blob, 4 keep-alive connections
#            all through bench/registry/regload (C++, sockets, one connection per thread), and
#            the server's VmHWM (peak resident memory) after all rounds.
#   client   the 4-layer gzip image of bench/make_images.sh (images/gzip:v4), copied by skopeo
#            into a distribution registry, then hyperfine (REG_CLIENT_ROUNDS rounds, default 3,
#            REG_CLIENT_RUNS runs each, default 3; commands alternate between rounds):
#              pull        gantry unpack docker://REF DIR | ctr images pull | podman pull
#                          (all unpack; each run starts cold: ctr rm --sync, podman rmi, rm -rf)
#              copy        gantry copy docker://REF oci:DIR | skopeo copy (no unpack)
#              push        gantry copy oci:IMG docker://REF2 | skopeo copy to a second
#                          distribution registry whose storage is emptied before each run
#            gantry's commands are left out until BUILD_DIR/bin/gantry has `copy`/`unpack`.
#            REG_CLIENT_PODMAN=0 leaves podman out (its stderr goes to podman.err in the
#            results); REG_CLIENT_BASELINE=PATH adds a second gantry binary (an older build)
#            as gantry-base-* to every comparison, for before/after figures in one run.
#            REG_CLIENT_FS (default ext4): where the unpackers write (containerd's root,
#            podman's storage, the output directories). `ext4` makes a fresh ext4 with a
#            journal (mkfs.ext4 defaults, as a Debian install has) on a loop-mounted image under
#            $LAB; `here` writes into $LAB itself. The root filesystem of the benchmark VMs has
#            no journal, and there ext4 makes every new inode skip past each inode freed in the
#            last 60 s of its group (fs/ext4/ialloc.c, recently_deleted): each run's cold start
#            (rm -rf / rmi) makes the next run's creates quadratic, for every unpacker alike.
# Raw JSON and the summary: $GANTRY_BENCH_DIR/results/registry-<time>/ (default
# /var/tmp/gantry-bench); scratch in $GANTRY_BENCH_DIR/registry-lab (removed at the end).
set -euo pipefail
BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${GANTRY_BENCH_DIR:-/var/tmp/gantry-bench}
ROUNDS=${REG_ROUNDS:-5}
SMALL_N=${REG_SMALL_N:-400}
HEAD_N=${REG_HEAD_N:-3000}
CONC=${REG_CONC:-4}
CLIENT_ROUNDS=${REG_CLIENT_ROUNDS:-3}
CLIENT_RUNS=${REG_CLIENT_RUNS:-3}
SECTIONS=${REG_SECTIONS:-server client}
BIN=$(cd "$BUILD/bin" 2>/dev/null && pwd || true)
REGLOAD="$BIN/regload"
LAB="$OUT/registry-lab"
IMAGE="$OUT/images/gzip"
CLIENT_FS=${REG_CLIENT_FS:-ext4}
CFS="$LAB"  # where the client section's unpackers write (see REG_CLIENT_FS)

if [ "$(id -u)" -ne 0 ]; then
  echo "bench/run_registry.sh: needs root (containerd, podman)" >&2
  exit 1
fi
[ -x "$REGLOAD" ] || {
  echo "bench/run_registry.sh: no $REGLOAD (cmake --build $BUILD --target regload)" >&2
  exit 1
}
for tool in docker-registry skopeo ctr containerd podman hyperfine jq curl; do
  command -v "$tool" >/dev/null || { echo "bench/run_registry.sh: $tool missing" >&2; exit 1; }
done

RES="$OUT/results/registry-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RES"
SUMMARY="$RES/summary.md"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  release_lab
}
# Unmounts what a run (this one or a killed earlier one) left mounted under $LAB, removes it.
release_lab() {
  local d
  # podman's overlay driver keeps a private bind mount of its storage.
  for d in "$LAB/podman/root/overlay" "$LAB/client-fs/podman/root/overlay" "$LAB/client-fs"; do
    if mountpoint -q "$d" 2>/dev/null; then umount "$d" || true; fi
  done
  rm -rf "$LAB"
}
trap cleanup EXIT
release_lab
mkdir -p "$LAB"

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  local i
  for i in $(seq 300); do
    curl -fsS -o /dev/null "http://$1/v2/" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "bench/run_registry.sh: nothing answers on $1" >&2
  return 1
}

# start_distribution NAME: a docker-registry with its storage in $LAB/NAME; sets ADDR[NAME], PID[NAME].
declare -A ADDR PID
start_distribution() {
  local name=$1 port
  port=$(free_port)
  mkdir -p "$LAB/$name"
  cat >"$LAB/$name/config.yml" <<CFG
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $LAB/$name/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
CFG
  docker-registry serve "$LAB/$name/config.yml" >"$LAB/$name/log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
  ADDR[$name]=127.0.0.1:$port
  wait_http "${ADDR[$name]}"
}

# start_gantry NAME: gantry-registry with --root $LAB/NAME/data; it says where it listens.
start_gantry() {
  local name=$1 i addr=""
  mkdir -p "$LAB/$name"
  "$BIN/gantry-registry" serve --addr 127.0.0.1:0 --root "$LAB/$name/data" \
    >"$LAB/$name/stdout" 2>"$LAB/$name/log" &
  PID[$name]=$!
  PIDS+=($!)
  for i in $(seq 300); do
    addr=$(sed -n 's|^listening on http://\([0-9.:]*\).*|\1|p' "$LAB/$name/stdout" | head -n 1)
    [ -n "$addr" ] && break
    sleep 0.05
  done
  [ -n "$addr" ] || { echo "gantry-registry did not start: $(cat "$LAB/$name/log")" >&2; return 1; }
  ADDR[$name]=$addr
  wait_http "$addr"
}

vm() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
{
  echo "# bench/run_registry.sh $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, $(uname -r)"
  echo "load average at start: $LOAD_BEFORE"
  echo "- distribution: $(docker-registry --version)"
  echo "- $(skopeo --version); $(containerd --version | cut -d' ' -f1,3); $(podman --version)"
} >"$SUMMARY"

# ---------------------------------------------------------------------------------------------
section_server() {
  local servers=(distribution) s r op
  if [ -x "$BIN/gantry-registry" ]; then
    servers=(gantry distribution)
  else
    echo "- gantry-registry: not built ($BIN/gantry-registry), distribution measured alone" >>"$SUMMARY"
  fi
  for s in "${servers[@]}"; do
    if [ "$s" = gantry ]; then start_gantry srv-gantry; else start_distribution srv-distribution; fi
  done
  : >"$RES/server.jsonl"
  for ((r = 1; r <= ROUNDS; r++)); do
    head -c 100000000 /dev/urandom >"$LAB/big.bin"
    local digest
    digest="sha256:$(sha256sum "$LAB/big.bin" | cut -d' ' -f1)"
    # Alternate which server goes first.
    local order=("${servers[@]}")
    if ((r % 2 == 0)) && ((${#servers[@]} == 2)); then order=("${servers[1]}" "${servers[0]}"); fi
    for s in "${order[@]}"; do
      local a=${ADDR[srv-$s]}
      for op in push-big pull-big push-small head; do
        local line
        case $op in
          push-big) line=$("$REGLOAD" push-big "$a" "bench/big$r" "$LAB/big.bin" 2>/dev/null) ;;
          pull-big) sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
                    line=$("$REGLOAD" pull-big "$a" "bench/big$r" "$digest") ;;
          push-small) line=$("$REGLOAD" push-small "$a" "bench/small$r" "$SMALL_N" "$CONC" 4096) ;;
          head) line=$("$REGLOAD" head "$a" "bench/big$r" "$digest" "$HEAD_N" "$CONC") ;;
        esac
        echo "$line" | jq -c --arg s "$s" --argjson r "$r" '. + {server: $s, round: $r}' >>"$RES/server.jsonl"
        echo "server $s round $r: $line" >&2
      done
    done
  done
  rm -f "$LAB/big.bin"
  for s in "${servers[@]}"; do
    echo "{\"server\":\"$s\",\"op\":\"memory\",\"vmhwm_kib\":$(vm "${PID[srv-$s]}" VmHWM),\"vmrss_kib\":$(vm "${PID[srv-$s]}" VmRSS)}" >>"$RES/server.jsonl"
  done
  {
    echo
    echo "## server: medians over $ROUNDS rounds (load after: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "| measure | gantry-registry | distribution | gantry / distribution | goal |"
    echo "|---|---|---|---|---|"
    jq -s -r '
      def med: sort | if length == 0 then null elif length % 2 == 1 then .[(length - 1) / 2]
               else (.[length / 2 - 1] + .[length / 2]) / 2 end;
      def m($s; $op; $f): [.[] | select(.server == $s and .op == $op) | .[$f]] | med;
      def r1: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
      def ratio($g; $d): if $g == null or $d == null then "-" else ($g / $d * 100 | round / 100 | tostring) end;
      . as $all |
      [["push-big", "mb_per_s", "blob push MB/s (100 MB)", ">= 2"],
       ["pull-big", "mb_per_s", "blob pull MB/s (100 MB, cold page cache)", ">= 2"],
       ["push-small", "ops_per_s", "4 KiB blob pushes/s (4 conns)", ">= 2"],
       ["head", "ops_per_s", "blob HEADs/s (4 conns)", ">= 5"],
       ["memory", "vmhwm_kib", "peak RSS (VmHWM) KiB after the load", "<= 0.5"]][] as [$op, $f, $what, $goal]
      | ($all | m("gantry"; $op; $f)) as $g | ($all | m("distribution"; $op; $f)) as $d
      | "| \($what) | \($g | r1) | \($d | r1) | \(ratio($g; $d)) | \($goal) |"' "$RES/server.jsonl"
    echo
    echo "Commands: \`$REGLOAD push-big|pull-big|push-small|head ADDR REPO ...\` (bench/registry/regload.cpp);" \
      "gantry-registry \`serve --addr 127.0.0.1:0 --root DIR\`; distribution \`docker-registry serve CONFIG\`" \
      "(filesystem storage, delete enabled, no cache section)."
  } >>"$SUMMARY"
}

# ---------------------------------------------------------------------------------------------
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

# table NAME REF GOAL: medians with the ratio of each command to REF's.
table() {
  local name=$1 ref=$2 goal=$3 ref_s
  ref_s=$(jq -r --arg c "$ref" '.[] | select(.command == $c) | .median' "$RES/$name.json")
  {
    echo
    echo "## client $name (load after: $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "| command | runs | median s | min s | vs $ref | goal |"
    echo "|---|---|---|---|---|---|"
    jq -r --arg ref "${ref_s:-}" --arg goal "$goal" '
      def ratio: if $ref == "" then "-" else (.median / ($ref | tonumber) * 100 | round / 100 | tostring) end;
      sort_by(.median) | .[] | "| \(.command) | \(.runs) | \(.median * 1000 | round / 1000) | \(.min * 1000 | round / 1000) | \(ratio) | \(if (.command | startswith("gantry") and (contains("base") | not)) then $goal else "" end) |"' \
      "$RES/$name.json"
  } >>"$SUMMARY"
}

gantry_has() { [ -x "$BIN/gantry" ] && "$BIN/gantry" "$1" --help >/dev/null 2>&1; }

section_client() {
  [ -f "$IMAGE/index.json" ] || { echo "bench/run_registry.sh: no $IMAGE (bench/make_images.sh)" >&2; return 1; }
  start_distribution cli-src
  start_distribution cli-push
  local src=${ADDR[cli-src]} push=${ADDR[cli-push]}
  local ref="$src/bench/gzip:v4"
  skopeo copy -q --dest-tls-verify=false "oci:$IMAGE:v4" "docker://$ref" >&2

  case $CLIENT_FS in
    ext4)
      CFS="$LAB/client-fs"
      mkdir -p "$CFS"
      truncate -s 8G "$LAB/client-fs.img"
      mkfs.ext4 -q -F "$LAB/client-fs.img"
      mount -o loop "$LAB/client-fs.img" "$CFS"
      echo "- client writes to a fresh ext4 with a journal on a loop device (REG_CLIENT_FS=ext4)" >>"$SUMMARY"
      ;;
    here) echo "- client writes to $LAB's filesystem (REG_CLIENT_FS=here): $(findmnt -no FSTYPE,OPTIONS -T "$LAB")" >>"$SUMMARY" ;;
    *) echo "bench/run_registry.sh: REG_CLIENT_FS is ext4 or here, not '$CLIENT_FS'" >&2; return 2 ;;
  esac
  # containerd: root, state and socket under $CFS, no CRI.
  local C="$CFS/containerd"
  mkdir -p "$C"
  cat >"$C/config.toml" <<CFG
version = 2
root = "$C/root"
state = "$C/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$C/containerd.sock"
CFG
  containerd --config "$C/config.toml" >"$C/log" 2>&1 &
  PIDS+=($!)
  local i
  for i in $(seq 200); do [ -S "$C/containerd.sock" ] && break; sleep 0.05; done
  local CTR="ctr --address $C/containerd.sock --namespace bench"

  # podman: rootful, storage as flags, the containers.conf of peers.md.
  local P="$CFS/podman"  # its runroot stays in $LAB: podman refuses one over 50 characters
  mkdir -p "$P"
  cat >"$P/containers.conf" <<CFG
[containers]
netns = "none"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CFG
  export CONTAINERS_CONF="$P/containers.conf"
  local PODMAN="podman --root $P/root --runroot $LAB/podman-run --storage-driver overlay"

  local out="$CFS/out"
  mkdir -p "$out"
  local pull_args=(--runs "$CLIENT_RUNS" --warmup 1
    --prepare "$CTR images rm --sync $ref >/dev/null 2>&1 || true" -n ctr "$CTR images pull --plain-http $ref"
)
  if [ "${REG_CLIENT_PODMAN:-1}" != 0 ]; then
    pull_args+=(--prepare "$PODMAN rmi -af >/dev/null 2>&1 || true"
      -n podman "$PODMAN pull -q --tls-verify=false $ref 2>>$RES/podman.err")
  else
    echo "- podman: left out (REG_CLIENT_PODMAN=0)" >>"$SUMMARY"
  fi
  local copy_args=(--runs "$CLIENT_RUNS" --warmup 1
    --prepare "rm -rf $out/skopeo" -n skopeo "skopeo copy -q --src-tls-verify=false docker://$ref oci:$out/skopeo:v4")
  local wipe="rm -rf $LAB/cli-push/data/docker"
  local push_args=(--runs "$CLIENT_RUNS" --warmup 1
    --prepare "$wipe" -n skopeo "skopeo copy -q --dest-tls-verify=false oci:$IMAGE:v4 docker://$push/bench/push:v4")
  if gantry_has unpack; then
    pull_args+=(--prepare "rm -rf $out/unpack" -n gantry-unpack "$BIN/gantry unpack docker://$ref $out/unpack")
  else
    echo "- gantry unpack: not in $BIN/gantry yet, left out" >>"$SUMMARY"
  fi
  local base=${REG_CLIENT_BASELINE:-}
  if [ -n "$base" ] && [ -x "$base" ]; then
    pull_args+=(--prepare "rm -rf $out/base-unpack" -n gantry-base-unpack "$base unpack docker://$ref $out/base-unpack")
    copy_args+=(--prepare "rm -rf $out/base" -n gantry-base-copy "$base copy docker://$ref oci:$out/base:v4")
    push_args+=(--prepare "$wipe" -n gantry-base-push "$base copy oci:$IMAGE:v4 docker://$push/bench/push:v4")
    echo "- gantry-base: $base (REG_CLIENT_BASELINE)" >>"$SUMMARY"
  fi
  if gantry_has copy; then
    copy_args+=(--prepare "rm -rf $out/gantry" -n gantry-copy "$BIN/gantry copy docker://$ref oci:$out/gantry:v4")
    push_args+=(--prepare "$wipe" -n gantry-push "$BIN/gantry copy oci:$IMAGE:v4 docker://$push/bench/push:v4")
  else
    echo "- gantry copy: not in $BIN/gantry yet, left out" >>"$SUMMARY"
  fi
  paired pull "$CLIENT_ROUNDS" "${pull_args[@]}"
  table pull ctr "<= 0.35"
  paired copy "$CLIENT_ROUNDS" "${copy_args[@]}"
  table copy skopeo "<= 0.7"
  paired push "$CLIENT_ROUNDS" "${push_args[@]}"
  table push skopeo "<= 0.7"
  {
    echo
    echo "Image: $IMAGE:v4 (bench/make_images.sh), REF = bench/gzip:v4 in a docker-registry on 127.0.0.1;" \
      "ctr = \`$CTR images pull --plain-http REF\` (containerd 1.6, overlayfs snapshotter);" \
      "podman = \`podman --root --runroot --storage-driver overlay pull --tls-verify=false REF\`;" \
      "push goes to a second docker-registry whose storage is emptied before each run."
  } >>"$SUMMARY"
  $PODMAN rmi -af >/dev/null 2>&1 || true
}

for s in $SECTIONS; do
  case $s in
    server) section_server ;;
    client) section_client ;;
    *) echo "bench/run_registry.sh: unknown section '$s'" >&2; exit 2 ;;
  esac
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$SUMMARY"
cat "$SUMMARY"
echo "(raw results in $RES)" >&2
