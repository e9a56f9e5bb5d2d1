# Environment for building and testing Chimera against what scripts/setup
# installed. Sourced by scripts/test and scripts/devnet; safe to source in
# an interactive shell too: `source scripts/env.sh`.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export PATH="$CHIMERA_BIN:$CHIMERA_CACHE/go/bin:$PATH"
# tch links the PyPI torch in our venv (DESIGN §4).
export CHIMERA_VENV="$CHIMERA_CACHE/venv-torch-$TORCH_VERSION"
export LIBTORCH_USE_PYTORCH=1
if [ -x "$CHIMERA_VENV/bin/python" ]; then
  export PATH="$CHIMERA_VENV/bin:$PATH"
  _torch_lib="$(ls -d "$CHIMERA_VENV"/lib/python3*/site-packages/torch/lib 2>/dev/null | head -n1)"
  [ -n "$_torch_lib" ] && export LD_LIBRARY_PATH="$_torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# terrad (wasmd) loads libwasmvm at run time.
if [ -d "$CHIMERA_CACHE/lib" ]; then
  export LD_LIBRARY_PATH="$CHIMERA_CACHE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
