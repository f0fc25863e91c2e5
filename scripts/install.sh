#!/usr/bin/env bash
# Install subseg into .venv: CPU torch first (a bare "torch" would pull a CUDA build), then the project with
# torch held at that version. That is all the app needs.
# --test adds the test tools: the [test] extra (pytest, pooch, TensorFlow, MONAI, ...) and the node package
# the MeshNet cross-check uses (when npm is there).
# TORCH_SPEC picks another torch (e.g. TORCH_SPEC="torch==2.13.0" with a CUDA wheel index on a GPU machine).
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
    "") target="." ;;
    --test) target=".[test]" ;;
    *) echo "usage: bash scripts/install.sh [--test]" >&2; exit 2 ;;
esac
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -m venv .venv
.venv/bin/pip install --quiet "$TORCH_SPEC"
constraint="$(mktemp)"
.venv/bin/python -c "from importlib.metadata import version; print('torch==' + version('torch').split('+')[0])" \
    > "$constraint"
.venv/bin/pip install --quiet -c "$constraint" -e "$target"
rm -f "$constraint"
if [ "$target" != "." ] && command -v npm >/dev/null; then
    npm ci --silent --prefix tests/js
fi
