#!/usr/bin/env bash
# Installs every build and test dependency from Debian's packages. Idempotent, non-interactive.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build ccache pkg-config clang-14 clang-format libclang-rt-14-dev
  libboost-test-dev libboost-dev librapidcheck-dev libbenchmark-dev
  libarchive-dev zlib1g-dev libzstd-dev libisal-dev libssl-dev libfuse3-dev fuse3
  nlohmann-json3-dev libcli11-dev libfmt-dev libspdlog-dev libsqlite3-dev
  busybox-static umoci fuse-overlayfs hyperfine zstd pigz attr
  libseccomp-dev libcap-dev runc crun podman containerd skopeo docker-registry docker.io
  python3-docker libboost-system-dev apache2-utils curl openssl
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "deps: all present"
fi
