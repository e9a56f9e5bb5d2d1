#!/usr/bin/env bash
# Debian packages the native build needs: RocksDB (linked, not bundled),
# libclang for its bindgen, protoc for prost-build.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
pkgs=(librocksdb-dev libclang-dev clang protobuf-compiler pkg-config build-essential)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "apt: all ${#pkgs[@]} packages present"
  exit 0
fi
log "apt: installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
