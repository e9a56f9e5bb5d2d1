#!/usr/bin/env bash
# The wasm32 toolchain for CosmWasm contracts and the wasm build of
# chimera-packets (../shared/wasm-toolchain.md): rustup here has only the
# x86_64 target, so we use Debian's rustc-web (Rust 1.96 with its std
# source) and build std with -Zbuild-std. lld-22 provides /usr/bin/rust-lld.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
pkgs=(rustc-web cargo-web rust-web-src lld-22)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "wasm: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
[ -x /usr/bin/rust-lld ] || die "wasm: /usr/bin/rust-lld missing after installing lld-22"
log "wasm: $(/usr/bin/rustc --version) with rust-lld"
