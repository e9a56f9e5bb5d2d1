#!/usr/bin/env bash
# Go modules of the project's own Go code (the ibc-go interop test in
# packets/interop), fetched into the Go module cache from the Go proxy so
# that the tests run without network.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
export GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOTOOLCHAIN=local GOFLAGS="-mod=readonly"
key="$(sha256sum "$CHIMERA_ROOT/packets/interop/go.sum" | cut -d' ' -f1)"
if stamp_ok go-modules "$key"; then
  log "go-modules: packets/interop modules present"
  exit 0
fi
(cd "$CHIMERA_ROOT/packets/interop" && go mod download)
stamp_set go-modules "$key"
log "go-modules: packets/interop modules downloaded"
