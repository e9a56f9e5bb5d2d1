#!/usr/bin/env bash
# Debian packages the native build needs: RocksDB (linked, not bundled),
# libclang for its bindgen, protoc for prost-build.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
apt_ensure apt librocksdb-dev libclang-dev clang protobuf-compiler pkg-config build-essential
