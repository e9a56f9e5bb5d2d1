#!/usr/bin/env bash
# The wasm32 toolchain for CosmWasm contracts and the wasm build of
# chimera-packets (../shared/wasm-toolchain.md): rustup here has only the
# x86_64 target, so we use Debian's rustc-web (Rust 1.96 with its std
# source) and build std with -Zbuild-std. lld-22 provides /usr/bin/rust-lld.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
apt_ensure wasm rustc-web cargo-web rust-web-src lld-22
[ -x /usr/bin/rust-lld ] || die "wasm: /usr/bin/rust-lld missing after installing lld-22"
log "wasm: $(/usr/bin/rustc --version) with rust-lld"
