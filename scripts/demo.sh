#!/usr/bin/env bash
# The main job for now: image layering end to end, with the model checking the runtime.
#   1. a base image from Debian's busybox-static, made with `gantry import`;
#   2. a second image made by mounting the first, deleting and changing files, `gantry repack`;
#   3. both images mounted through each snapshotter (copy, overlay, fuse): the whiteout hides
#      the deleted file, a write copies a file up and leaves the layer below untouched;
#   4. `gantry unpack` flattens the image; the layer's tar shows the whiteout entry;
#   5. a container runs on a mounted view of the image with gantry-oci; what it writes becomes
#      a new layer with `gantry repack`;
#   6. the properties that compare the model with the runtime, and their results;
#   7. the image pushed to gantry-registry with `gantry copy` and unpacked back from it.
set -euo pipefail
build=${1:-build}
G="$build/bin/gantry"
[ -x "$G" ] || { echo "demo: $G not built (make build)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "demo: mounts need root" >&2; exit 1; }
export GANTRY_BIN=$(cd "$build/bin" && pwd)
lab=$(mktemp -d /tmp/gantry-demo.XXXXXX)
export GANTRY_ROOT="$lab/state"
mounted=()
cleanup() {
  for m in "${mounted[@]}"; do "$G" umount "$m" 2>/dev/null || true; done
  rm -rf "$lab"
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

step "1. a base image from busybox-static"
mkdir -p "$lab/rootfs/bin" "$lab/rootfs/etc" "$lab/rootfs/root"
cp /bin/busybox "$lab/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$lab/rootfs/bin/$applet"
done
echo "gantry-demo" >"$lab/rootfs/etc/hostname"
echo "Welcome to the base image" >"$lab/rootfs/etc/motd"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$lab/rootfs/etc/passwd"
show "$G" import "$lab/rootfs" "oci:$lab/images:base"
show "$G" layers "$lab/images:base"

step "2. a second image: delete /etc/motd, change /etc/hostname, add /root/notes"
mkdir "$lab/edit"
show "$G" mount --snapshotter overlay "$lab/images:base" "$lab/edit"
mounted+=("$lab/edit")
rm "$lab/edit/etc/motd"
echo "gantry-demo-v2" >"$lab/edit/etc/hostname"
echo "made through a mounted view" >"$lab/edit/root/notes"
show "$G" repack "$lab/edit" "$lab/images:v2"
show "$G" umount "$lab/edit"
mounted=()
show "$G" layers "$lab/images:v2"
top=$("$G" layers "$lab/images:v2" | awk '/^layer 2/ {print $3}')
echo "the new layer's entries (note the whiteout etc/.wh.motd):"
tar -tzvf "$lab/images/blobs/sha256/${top#sha256:}"

step "3. each snapshotter shows the same view; a write copies up"
for s in copy overlay fuse; do
  m="$lab/view-$s"
  mkdir "$m"
  "$G" mount --snapshotter "$s" "$lab/images:v2" "$m"
  mounted+=("$m")
  printf '%-8s mounted: %s\n' "$s" "$(findmnt -n -o FSTYPE "$m" || echo '?')"
  printf '%-8s etc/motd: %s\n' "$s" "$([ -e "$m/etc/motd" ] && echo present || echo 'hidden by the whiteout')"
  printf '%-8s etc/hostname: %s\n' "$s" "$(cat "$m/etc/hostname")"
  echo "written in the $s view" >>"$m/etc/hostname"
  printf '%-8s after a write: %s\n' "$s" "$(tail -n 1 "$m/etc/hostname")"
  "$G" umount "$m"
  mounted=()
done
mkdir "$lab/check"
"$G" unpack "$lab/images:v2" "$lab/check/v2"
echo "the image's own etc/hostname is untouched by those copy-ups: $(cat "$lab/check/v2/etc/hostname")"

step "4. gantry unpack flattens the layers"
show "$G" unpack "$lab/images:v2" "$lab/flat"
show ls "$lab/flat/etc" "$lab/flat/root"
show "$lab/flat/bin/busybox" echo "busybox from the unpacked image runs"

step "5. a container on the image: gantry-oci runs it, gantry repack keeps what it wrote"
O="$GANTRY_BIN/gantry-oci"
mkdir -p "$lab/bundle/rootfs"
show "$G" mount --snapshotter overlay "$lab/images:v2" "$lab/bundle/rootfs"
mounted+=("$lab/bundle/rootfs")
(cd "$lab/bundle" && "$O" spec)
sed -i 's/"terminal": true/"terminal": false/; s/"readonly": true/"readonly": false/; s/"sh"$/"sh", "-c", "echo container sees hostname file: $(cat \/etc\/hostname); echo made in a container > \/root\/from-container; exit 7"/' "$lab/bundle/config.json"
set +e
"$O" --root "$lab/oci" run --bundle "$lab/bundle" demo-c1
status=$?
set -e
echo "gantry-oci run exited with $status (the container's own exit code)"
show "$G" repack "$lab/bundle/rootfs" "$lab/images:v3"
"$G" layers "$lab/images:v3" | tail -n 2

step "6. the model against the runtime (RapidCheck properties)"
shopt -s nullglob
for t in "$build"/tests/property_*; do
  [ -f "$t" ] && [ -x "$t" ] || continue
  name=$(basename "$t")
  if out=$("$t" 2>&1); then
    passed=$(grep -oE 'OK, passed [0-9]+ tests' <<<"$out" | awk '{s+=$3} END {print s+0}' || true)
    if [ "$passed" -gt 0 ]; then
      printf '  %-45s ok (%s random cases)\n' "$name" "$passed"
    else
      printf '  %-45s ok\n' "$name"
    fi
  else
    printf '  %-45s FAILED\n' "$name"
    tail -n 20 <<<"$out"
    exit 1
  fi
done
step "7. a registry: gantry copy pushes the image to gantry-registry, gantry unpack pulls it back"
R="$GANTRY_BIN/gantry-registry"
if [ -x "$R" ]; then
  "$R" serve --addr 127.0.0.1:0 --root "$lab/registry" >"$lab/registry.out" 2>"$lab/registry.err" &
  rpid=$!
  trap 'kill "$rpid" 2>/dev/null || true; cleanup' EXIT
  url=
  for _ in $(seq 100); do
    url=$(sed -n 's/^listening on http:\/\///p' "$lab/registry.out" | head -n 1)
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "gantry-registry did not start:"; cat "$lab/registry.err"; exit 1; }
  show "$G" copy -q "$lab/images:v2" "docker://$url/demo/busybox:v2"
  show "$G" unpack -q "docker://$url/demo/busybox:v2" "$lab/flat-from-registry"
  show diff -r "$lab/flat" "$lab/flat-from-registry"
  echo "the tree unpacked from the registry equals the one unpacked from the layout"
  kill "$rpid"
  wait "$rpid" 2>/dev/null || true
  trap cleanup EXIT
else
  echo "(skipped: $R is not built)"
fi

echo
echo "demo done: images in a scratch dir (removed on exit)."
