#!/usr/bin/env bash
# Debian packages the native build needs: RocksDB (linked, not bundled),
# libclang for its bindgen, protoc for prost-build; Chromium for the web
# app's real-browser tests (e2e/tests/web_ui.rs drives /usr/bin/chromium
# with playwright-core; no browser download).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
apt_ensure apt librocksdb-dev libclang-dev clang protobuf-compiler pkg-config build-essential chromium
