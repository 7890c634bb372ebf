#!/usr/bin/env bash
# Runs every built fuzz target for a bounded time, each from its seed corpus in
# fuzz/corpus/<target>/ (copied to a scratch dir so the checked-in corpus stays as it is).
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
shopt -s nullglob
targets=("$build"/fuzz/fuzz_*)
if ((${#targets[@]} == 0)); then
  echo "fuzz: no targets built in $build/fuzz" >&2
  exit 1
fi
artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
for t in "${targets[@]}"; do
  name=$(basename "$t")
  work=$(mktemp -d)
  [ -d "$here/corpus/$name" ] && cp -r "$here/corpus/$name/." "$work/"
  echo "fuzz: $name for ${seconds}s"
  "$t" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
