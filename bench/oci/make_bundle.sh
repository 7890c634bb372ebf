#!/usr/bin/env bash
# Writes an OCI bundle that runs busybox: DIR/rootfs (Debian's static /bin/busybox plus a symlink
# per applet) and DIR/config.json (`runc spec`, then: terminal false, the given args, a
# cgroupsPath so every runtime puts the container in cgroups, an optional memory limit).
#
#   bench/oci/make_bundle.sh DIR [--cgroups-path PATH] [--memory BYTES] [--hostname NAME]
#                                [--rootfs-only] [-- ARGS...]
#
# Default args: /bin/true. Default cgroupsPath: /gantry-bench/<basename of DIR>. The rootfs is
# kept when it is already there (only config.json is rewritten), so re-running is cheap.
# Needs busybox-static (/bin/busybox), runc (for `runc spec`) and jq.
set -euo pipefail
if [ $# -lt 1 ]; then
  sed -n '2,10p' "$0" >&2
  exit 2
fi
DIR=$1
shift
CGPATH=""
MEMORY=""
HOSTNAME_=""
ROOTFS_ONLY=0
ARGS=(/bin/true)
while [ $# -gt 0 ]; do
  case $1 in
    --cgroups-path) CGPATH=$2; shift 2 ;;
    --memory) MEMORY=$2; shift 2 ;;
    --hostname) HOSTNAME_=$2; shift 2 ;;
    --rootfs-only) ROOTFS_ONLY=1; shift ;;
    --) shift; ARGS=("$@"); break ;;
    *) echo "make_bundle: unknown option '$1'" >&2; exit 2 ;;
  esac
done
BUSYBOX=${BUSYBOX:-/bin/busybox}
if ! "$BUSYBOX" --list >/dev/null 2>&1; then
  echo "make_bundle: $BUSYBOX is missing or broken (apt-get install busybox-static)" >&2
  exit 1
fi
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
[ -n "$CGPATH" ] || CGPATH="/gantry-bench/$(basename "$DIR")"

ROOT="$DIR/rootfs"
if [ ! -x "$ROOT/bin/busybox" ]; then
  rm -rf "$ROOT.tmp"
  mkdir -p "$ROOT.tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root}
  chmod 1777 "$ROOT.tmp/tmp"
  cp "$BUSYBOX" "$ROOT.tmp/bin/busybox"
  # --list-full gives each applet with its usual directory (bin/ls, usr/bin/env, sbin/ip...).
  "$BUSYBOX" --list-full | while read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    ln -sf /bin/busybox "$ROOT.tmp/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$ROOT.tmp/etc/passwd"
  echo 'root:x:0:' >"$ROOT.tmp/etc/group"
  mv "$ROOT.tmp" "$ROOT"
fi
[ "$ROOTFS_ONLY" = 1 ] && exit 0

SPEC=$(mktemp -d)
trap 'rm -rf "$SPEC"' EXIT
(cd "$SPEC" && runc spec)
ARGS_JSON=$(printf '%s\n' "${ARGS[@]}" | jq -R . | jq -s -c .)
jq --argjson args "$ARGS_JSON" --arg cg "$CGPATH" --arg mem "$MEMORY" --arg host "$HOSTNAME_" '
  .process.terminal = false
  | .process.args = $args
  | .linux.cgroupsPath = $cg
  | if $mem != "" then .linux.resources.memory = {limit: ($mem | tonumber)} else . end
  | if $host != "" then .hostname = $host else . end' \
  "$SPEC/config.json" >"$DIR/config.json.tmp"
mv "$DIR/config.json.tmp" "$DIR/config.json"
