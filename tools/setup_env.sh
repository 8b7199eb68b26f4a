#!/usr/bin/env bash
# Create (or complete) the project's virtual environment with the real
# OpenMMLab stack: torch (CPU), mmengine, mmcv built from source WITH its
# compiled ops, mmdet, mmsegmentation, pycocotools, pytest, and rla_mm in
# editable mode.
#
# Usage: bash tools/setup_env.sh [VENV_DIR]        (default: .venv)
#
# Idempotent: every step is skipped when what it installs is already there,
# so a second run takes seconds and never rebuilds mmcv.
set -euo pipefail

VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
MMCV_VERSION=${MMCV_VERSION:-2.1.0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf '\033[1m[setup_env]\033[0m %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment in $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# mmcv's setup.py and mmengine's `mmdet::` config inheritance import
# pkg_resources (removed in setuptools 82); torch needs setuptools >= 77.
"${PIP[@]}" install -q --upgrade "pip>=24" "setuptools>=77,<82" wheel ninja

# torch first and pinned exactly: an unpinned `torch` pulled in by another
# package would download a multi-GB CUDA build.
if ! "$PY" -c "import torch" 2>/dev/null; then
    log "installing $TORCH_SPEC"
    "${PIP[@]}" install "$TORCH_SPEC"
fi
TORCH_PIN="torch==$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')"

"${PIP[@]}" install -q "$TORCH_PIN" -r "$ROOT/requirements/runtime.txt" \
    -r "$ROOT/requirements/tests.txt"

# mmcv has no wheel on PyPI for recent torch: build it from source against the
# installed torch. Without --no-build-isolation pip builds in a clean
# environment without torch and silently produces mmcv without mmcv._ext.
if ! "$PY" -c "import mmcv.ops" 2>/dev/null; then
    log "building mmcv==$MMCV_VERSION with ops from source (about 12 min on 2 cores)"
    MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "${PIP[@]}" install --no-build-isolation "mmcv==$MMCV_VERSION" "$TORCH_PIN"
fi

"${PIP[@]}" install -q --no-build-isolation --no-deps -e "$ROOT"

log "checking the stack"
"$PY" - <<'PY'
import mmcv, mmdet, mmengine, mmseg, torch
from mmcv.ops import RoIAlign, nms  # noqa: F401  (needs the compiled mmcv._ext)
import mmseg.models  # noqa: F401  (needs ftfy and regex)
import rla_mm  # noqa: F401
print(f"torch {torch.__version__} | mmengine {mmengine.__version__} | "
      f"mmcv {mmcv.__version__} (ops OK) | mmdet {mmdet.__version__} | "
      f"mmseg {mmseg.__version__}")
PY
