# Environment for building and testing Chimera against what scripts/setup
# installed. Sourced by scripts/test and scripts/devnet; safe to source in
# an interactive shell too: `source scripts/env.sh`.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export PATH="$CHIMERA_BIN:$CHIMERA_CACHE/go/bin:$PATH"
# tch links the PyPI torch in our venv (DESIGN §4).
export CHIMERA_VENV="$CHIMERA_CACHE/venv-torch-$TORCH_VERSION"
# LIBTORCH names the venv's torch directory: the same libtorch that
# LIBTORCH_USE_PYTORCH=1 would find, but identical to .cargo/config.toml's
# [env], so a sourced shell and a plain one share torch-sys's build.
unset LIBTORCH_USE_PYTORCH
if [ -x "$CHIMERA_VENV/bin/python" ]; then
  export PATH="$CHIMERA_VENV/bin:$PATH"
  _torch_dir="$(ls -d "$CHIMERA_VENV"/lib/python3*/site-packages/torch 2>/dev/null | head -n1)"
  if [ -n "$_torch_dir" ]; then
    export LIBTORCH="$_torch_dir"
    export LD_LIBRARY_PATH="$_torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
# terrad (wasmd) loads libwasmvm at run time.
if [ -d "$CHIMERA_CACHE/lib" ]; then
  export LD_LIBRARY_PATH="$CHIMERA_CACHE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# rocksdb links Debian's librocksdb-dev dynamically, never the bundled C++
# build (DESIGN §4); .cargo/config.toml's [env] sets the same for plain cargo.
export ROCKSDB_LIB_DIR=/usr/lib/x86_64-linux-gnu ROCKSDB_INCLUDE_DIR=/usr/include
unset ROCKSDB_STATIC ROCKSDB_COMPILE
