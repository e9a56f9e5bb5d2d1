#!/usr/bin/env bash
# Real Go peers Chimera is tested against (../../shared/DESIGN.md §4), built
# from the Go module proxy and installed into $CHIMERA_BIN:
#   cometbft  $COMETBFT_VERSION     (go install)
#   terrad    $TERRAD_VERSION       Terra Classic core (wasmd + libwasmvm)
#   simd      $IBC_GO_SIMD_VERSION  ibc-go's testing simapp
# Each binary is installed as NAME-VERSION with a NAME symlink, and skipped
# when that file and its stamp exist, so a warm re-run takes about a second.
# Sources and the Go caches live outside the clone: the module cache and build
# cache at their Go defaults (~/go/pkg/mod, ~/.cache/go-build), writable
# source copies under $CHIMERA_CACHE/src/, libwasmvm under $CHIMERA_CACHE/lib/
# (scripts/env.sh puts it on LD_LIBRARY_PATH; terrad also carries an rpath
# $ORIGIN/../lib, so it runs without env.sh too).
#
# Measured on the 2-core dev machine with Go 1.26.8 (no GOTOOLCHAIN needed),
# cold module and build caches: cometbft ~65 s, terrad ~216 s, simd ~264 s
# (much of it downloading); warm re-run ~0.05 s.
#
# Set CHIMERA_REBUILD=1 to rebuild all three regardless of stamps.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

command -v go >/dev/null || die "go-chains: no 'go' on PATH (need Go >= 1.22)"
mkdir -p "$CHIMERA_BIN" "$CHIMERA_CACHE/lib" "$CHIMERA_CACHE/src"

# Reach nothing but the module proxy: no VCS fallback ('direct'), the machine's
# own Go (the modules ask for go 1.22 / 1.19, which Go 1.26 builds), and never
# rewrite a go.mod/go.sum. The checksum database is read through the proxy.
export GOPROXY="${CHIMERA_GOPROXY:-https://proxy.golang.org}"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=1 # wasmvm (terrad) and the ledger HID code are cgo

# ---------------------------------------------------------------------------
# helpers

# installed NAME VERSION: true if $CHIMERA_BIN/NAME-VERSION is there, with its
# stamp, and NAME points at it (re-pointing the symlink if only that is off).
installed() {
  local name="$1" ver="$2"
  [ "${CHIMERA_REBUILD:-0}" = 1 ] && return 1
  [ -x "$CHIMERA_BIN/$name-$ver" ] && stamp_ok "go-$name" "$ver" || return 1
  [ "$(readlink "$CHIMERA_BIN/$name" 2>/dev/null)" = "$name-$ver" ] || ln -sfn "$name-$ver" "$CHIMERA_BIN/$name"
}

# link NAME VERSION: point $CHIMERA_BIN/NAME at NAME-VERSION and stamp it.
link() {
  ln -sfn "$1-$2" "$CHIMERA_BIN/$1"
  stamp_set "go-$1" "$2"
}

# json_field FIELD < go-mod-download-json: one string field's value.
json_field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p" | head -n1; }

# src_copy MODULE@VERSION DEST: download the module through the proxy and put
# a writable copy of its directory at DEST (replace directives forbid
# `go install mod@version`, so these are built from their own module root).
# Prints the module's VCS commit when the proxy knows it.
src_copy() {
  local modver="$1" dest="$2" json dir
  json="$(cd "$CHIMERA_CACHE/src" && GOFLAGS=-mod=mod go mod download -json "$modver")" \
    || die "go-chains: go mod download $modver failed: $json"
  dir="$(json_field Dir <<<"$json")"
  [ -d "$dir" ] || die "go-chains: no Dir for $modver in: $json"
  if [ ! -f "$dest/.copied" ]; then
    rm -rf "$dest" "$dest.tmp"
    cp -r "$dir" "$dest.tmp"
    chmod -R u+w "$dest.tmp"
    touch "$dest.tmp/.copied"
    mv "$dest.tmp" "$dest"
  fi
  json_field Hash <<<"$json"
}

# ---------------------------------------------------------------------------
# 1. cometbft (plain go install; its go.mod has no replace directives)

if installed cometbft "$COMETBFT_VERSION"; then
  log "go-chains: cometbft $COMETBFT_VERSION present"
else
  t0=$SECONDS
  log "go-chains: building cometbft $COMETBFT_VERSION (go install)"
  tmpbin="$(mktemp -d "$CHIMERA_CACHE/src/gobin.XXXXXX")"
  GOBIN="$tmpbin" go install -trimpath \
    "github.com/cometbft/cometbft/cmd/cometbft@$COMETBFT_VERSION"
  mv -f "$tmpbin/cometbft" "$CHIMERA_BIN/cometbft-$COMETBFT_VERSION"
  rmdir "$tmpbin"
  "$CHIMERA_BIN/cometbft-$COMETBFT_VERSION" version >/dev/null \
    || die "go-chains: built cometbft does not run"
  link cometbft "$COMETBFT_VERSION"
  log "go-chains: cometbft $("$CHIMERA_BIN/cometbft" version) installed in $((SECONDS - t0))s"
fi

# ---------------------------------------------------------------------------
# 2. terrad (Terra Classic core). Flags follow its Makefile's `build` target:
#    -mod=readonly, -trimpath, tags "netgo ledger", and the version ldflags
#    (Name=terra, AppName=terrad, Version without the 'v', Commit, BuildTags),
#    plus -w -s. The ledger tag is kept: on SDK 0.47 it needs no system
#    hidapi/libusb (zondax/hid vendors its C sources and is compiled by cgo
#    whatever the tag). We add an rpath so terrad finds libwasmvm next door.

if installed terrad "$TERRAD_VERSION" && [ -n "$(ls "$CHIMERA_CACHE"/lib/libwasmvm.*.so 2>/dev/null)" ]; then
  log "go-chains: terrad $TERRAD_VERSION present"
else
  mod="github.com/classic-terra/core/v3"
  src="$CHIMERA_CACHE/src/terra-core-$TERRAD_VERSION"
  t0=$SECONDS
  log "go-chains: fetching $mod@$TERRAD_VERSION"
  commit="$(src_copy "$mod@$TERRAD_VERSION" "$src")"
  cd "$src"
  # libwasmvm: the prebuilt shared library ships inside the wasmvm module, in
  # the version that terrad's go.mod (after replaces) resolves to.
  go mod download github.com/CosmWasm/wasmvm
  wasmvm_dir="$(go list -m -f '{{.Dir}}' github.com/CosmWasm/wasmvm)"
  case "$(uname -m)" in
    x86_64) lib=libwasmvm.x86_64.so ;;
    aarch64 | arm64) lib=libwasmvm.aarch64.so ;;
    *) die "go-chains: no prebuilt libwasmvm for $(uname -m)" ;;
  esac
  [ -f "$wasmvm_dir/internal/api/$lib" ] || die "go-chains: $lib missing from $wasmvm_dir"
  install -m 0755 "$wasmvm_dir/internal/api/$lib" "$CHIMERA_CACHE/lib/$lib"
  log "go-chains: $lib from $(go list -m github.com/CosmWasm/wasmvm) -> $CHIMERA_CACHE/lib/"

  tags="netgo,ledger"
  ldflags="-X github.com/cosmos/cosmos-sdk/version.Name=terra \
-X github.com/cosmos/cosmos-sdk/version.AppName=terrad \
-X github.com/cosmos/cosmos-sdk/version.Version=${TERRAD_VERSION#v} \
-X github.com/cosmos/cosmos-sdk/version.Commit=${commit} \
-X github.com/cosmos/cosmos-sdk/version.BuildTags=${tags} \
-w -s -r \$ORIGIN/../lib"
  log "go-chains: building terrad $TERRAD_VERSION (commit ${commit:-unknown}; several minutes cold)"
  go build -trimpath -tags "${tags//,/ }" -ldflags "$ldflags" \
    -o "$CHIMERA_BIN/terrad-$TERRAD_VERSION" ./cmd/terrad
  cd - >/dev/null

  if ldd "$CHIMERA_BIN/terrad-$TERRAD_VERSION" | grep -q 'libwasmvm.*not found'; then
    die "go-chains: terrad does not find $lib: $(ldd "$CHIMERA_BIN/terrad-$TERRAD_VERSION" | grep wasmvm)"
  fi
  LD_LIBRARY_PATH="$CHIMERA_CACHE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$CHIMERA_BIN/terrad-$TERRAD_VERSION" version >/dev/null \
    || die "go-chains: built terrad does not run"
  link terrad "$TERRAD_VERSION"
  log "go-chains: terrad $("$CHIMERA_BIN/terrad" version 2>&1) installed; $(ldd "$CHIMERA_BIN/terrad" | grep -o 'libwasmvm[^ ]* => [^ ]*'); $((SECONDS - t0))s"
fi

# ---------------------------------------------------------------------------
# 3. simd (ibc-go v7's testing simapp, in the main ibc-go module at
#    testing/simapp/simd). Flags follow ibc-go's Makefile: tags "netgo ledger",
#    Name=sim, AppName=simd, Version, Commit, BuildTags, -w -s, -trimpath.

if installed simd "$IBC_GO_SIMD_VERSION"; then
  log "go-chains: simd $IBC_GO_SIMD_VERSION present"
else
  mod="github.com/cosmos/ibc-go/${IBC_GO_SIMD_VERSION%%.*}" # .../ibc-go/v7
  src="$CHIMERA_CACHE/src/ibc-go-$IBC_GO_SIMD_VERSION"
  t0=$SECONDS
  log "go-chains: fetching $mod@$IBC_GO_SIMD_VERSION"
  commit="$(src_copy "$mod@$IBC_GO_SIMD_VERSION" "$src")"
  cd "$src"
  [ -f testing/simapp/simd/main.go ] || die "go-chains: no testing/simapp/simd in $mod@$IBC_GO_SIMD_VERSION"
  tags="netgo,ledger"
  ldflags="-X github.com/cosmos/cosmos-sdk/version.Name=sim \
-X github.com/cosmos/cosmos-sdk/version.AppName=simd \
-X github.com/cosmos/cosmos-sdk/version.Version=${IBC_GO_SIMD_VERSION#v} \
-X github.com/cosmos/cosmos-sdk/version.Commit=${commit} \
-X github.com/cosmos/cosmos-sdk/version.BuildTags=${tags} \
-w -s"
  log "go-chains: building simd $IBC_GO_SIMD_VERSION (several minutes cold)"
  go build -trimpath -tags "${tags//,/ }" -ldflags "$ldflags" \
    -o "$CHIMERA_BIN/simd-$IBC_GO_SIMD_VERSION" ./testing/simapp/simd
  cd - >/dev/null
  "$CHIMERA_BIN/simd-$IBC_GO_SIMD_VERSION" version >/dev/null \
    || die "go-chains: built simd does not run"
  link simd "$IBC_GO_SIMD_VERSION"
  log "go-chains: simd $("$CHIMERA_BIN/simd" version 2>&1) installed in $((SECONDS - t0))s"
fi
