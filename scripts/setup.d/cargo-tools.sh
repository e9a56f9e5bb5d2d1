#!/usr/bin/env bash
# Cargo subcommands the project uses: cargo-fuzz. It builds on stable, but
# fuzzing needs the nightly toolchain: `cargo +nightly fuzz run <target>`
# (scripts/fuzz does it).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
rustup toolchain list 2>/dev/null | grep -q '^nightly' \
  || die "cargo-tools: fuzzing needs a nightly toolchain: rustup toolchain install nightly"
cargo_install_cached cargo-tools cargo-fuzz "$CARGO_FUZZ_VERSION" cargo-fuzz cargo fuzz --version
