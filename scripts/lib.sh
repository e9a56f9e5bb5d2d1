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
