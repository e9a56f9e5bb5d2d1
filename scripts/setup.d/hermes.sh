#!/usr/bin/env bash
# Hermes, the IBC relayer Chimera is measured against (DESIGN §4). Stay on
# 1.11.x: 1.12+ pulls Penumbra crates whose build script downloads proving
# keys, which fails offline. About 9 minutes from clean on an idle 2-core
# machine (28 on a busy one), 1.8 GB peak disk; a 48 MB binary.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
command -v protoc >/dev/null || die "hermes: protoc not found (run scripts/setup apt)"
cargo_install_cached hermes ibc-relayer-cli "$HERMES_VERSION" hermes
