# Shared helpers for Chimera's scripts. Sourced, never run.
#
# Every cache lives outside the clone, under $CHIMERA_CACHE, keyed by version,
# so a fresh clone on a warm machine sets up in seconds.

CHIMERA_ROOT="${CHIMERA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CHIMERA_CACHE="${CHIMERA_CACHE:-$HOME/.cache/chimera}"
CHIMERA_BIN="$CHIMERA_CACHE/bin"
export CHIMERA_ROOT CHIMERA_CACHE CHIMERA_BIN

# Pinned versions of every real component we install (../shared/DESIGN.md §4).
COMETBFT_VERSION="${COMETBFT_VERSION:-v0.38.26}"
TERRAD_VERSION="${TERRAD_VERSION:-v3.4.0}"
IBC_GO_SIMD_VERSION="${IBC_GO_SIMD_VERSION:-v7.10.0}"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
HERMES_VERSION="${HERMES_VERSION:-1.11.0}"
CARGO_FUZZ_VERSION="${CARGO_FUZZ_VERSION:-0.13.2}"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# `stamp_ok NAME` is true when step NAME finished before with the same key;
# `stamp_set NAME` records that it did. The key is everything after NAME.
stamp_ok() { local n="$1"; shift; [ -f "$CHIMERA_CACHE/stamps/$n" ] && [ "$(cat "$CHIMERA_CACHE/stamps/$n")" = "$*" ]; }
stamp_set() { local n="$1"; shift; mkdir -p "$CHIMERA_CACHE/stamps"; printf '%s' "$*" >"$CHIMERA_CACHE/stamps/$n"; }

# `apt_ensure STEP PKG...` installs the Debian packages not yet installed.
apt_ensure() {
  local step="$1"; shift
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "$step: all $# Debian packages present"
    return 0
  fi
  log "$step: installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# `cargo_install_cached STEP CRATE VERSION BIN [CHECK...]`: `cargo install
# CRATE@VERSION --locked` into $CHIMERA_CACHE/STEP-VERSION, link BIN into
# $CHIMERA_BIN. The target dir stays under $CHIMERA_CACHE while building (an
# interrupted build resumes) and is removed after. CHECK (default `BIN
# --version`) must print VERSION.
cargo_install_cached() {
  local step="$1" crate="$2" version="$3" name="$4"; shift 4
  local root="$CHIMERA_CACHE/$step-$version"
  local bin="$root/bin/$name"
  mkdir -p "$CHIMERA_BIN"
  if [ -x "$bin" ] && stamp_ok "$step" "$crate=$version"; then
    ln -sfn "$bin" "$CHIMERA_BIN/$name"
    log "$step: $crate $version present"
    return 0
  fi
  command -v cargo >/dev/null || die "$step: cargo not found (install Rust with rustup)"
  local target="$CHIMERA_CACHE/build/$step-$version"
  log "$step: cargo install $crate@$version (target $target)"
  CARGO_TARGET_DIR="$target" cargo install "$crate@$version" --locked --force \
    --root "$root" -j "${CARGO_BUILD_JOBS:-2}"
  [ -x "$bin" ] || die "$step: $bin not built"
  ln -sfn "$bin" "$CHIMERA_BIN/$name"
  local out
  if [ $# -eq 0 ]; then set -- "$bin" --version; fi
  out="$(PATH="$CHIMERA_BIN:$PATH" "$@" 2>&1)" || die "$step: '$*' failed: $out"
  grep -q "$version" <<<"$out" || die "$step: expected $version, got: $out"
  stamp_set "$step" "$crate=$version"
  rm -rf "$target"
  rmdir "$CHIMERA_CACHE/build" 2>/dev/null || true
  log "$step: installed $crate $version ($CHIMERA_BIN/$name)"
}
