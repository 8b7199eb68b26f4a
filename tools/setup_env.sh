#!/usr/bin/env bash
# Create (or complete) the project's virtual environment with the real
# OpenMMLab stack: torch and torchvision, mmengine, mmcv built from source WITH
# its compiled ops against that torch, mmdet, mmsegmentation, mmpretrain,
# pycocotools, pytest, MMDeploy with ONNX Runtime, and rla_mm in editable
# mode.
#
# Usage: bash tools/setup_env.sh [VENV_DIR]        (default: .venv)
#
# Idempotent: every step is skipped when what it installs is already there,
# so a second run takes seconds and never rebuilds mmcv. An environment made
# for another torch is brought to this one (torch replaced, mmcv rebuilt).
set -euo pipefail

VENV=${1:-.venv}
PYTHON=${PYTHON:-python3}
# torch 2.14.1 with torchvision 0.29.1: the pair this machine's package index
# holds (a CUDA build that runs on the CPU). mmpretrain needs torchvision.
TORCH_VERSION=${TORCH_VERSION:-2.14.1}
TORCHVISION_VERSION=${TORCHVISION_VERSION:-0.29.1}
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
# package would download another multi-GB build.
installed() { "$PY" -c "import $1; print($1.__version__.split('+')[0])" 2>/dev/null || true; }
if [ "$(installed torch)" != "$TORCH_VERSION" ] \
        || [ "$(installed torchvision)" != "$TORCHVISION_VERSION" ]; then
    log "installing torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
    "${PIP[@]}" install "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"
fi
PINS=("torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION")

"${PIP[@]}" install -q "${PINS[@]}" -r "$ROOT/requirements/runtime.txt" \
    -r "$ROOT/requirements/tests.txt" -r "$ROOT/requirements/deploy.txt"

# mmcv has no wheel on PyPI for recent torch: build it from source against the
# installed torch, once per torch version, and record which torch it was
# built for (an mmcv built for another torch may import and then fail inside
# an op).
#  - --no-build-isolation: else pip builds in a clean environment without
#    torch and silently produces mmcv without mmcv._ext.
#  - from an unpacked sdist into a wheel folder of our own, named by the
#    mmcv, torch and Python versions: pip's wheel cache would silently reuse
#    a wheel built against another torch, and the sdist's setup.py passes
#    -std=c++17 where torch >= 2.10's headers need C++20.
MMCV_STAMP="$VENV/.mmcv_built_for_torch"
if ! "$PY" -c "import mmcv.ops" 2>/dev/null \
        || [ "$(cat "$MMCV_STAMP" 2>/dev/null)" != "$TORCH_VERSION" ]; then
    PY_TAG=$("$PY" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
    CACHE=${RLA_MM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rla_mm}
    WHEELS="$CACHE/mmcv-$MMCV_VERSION-torch-$TORCH_VERSION-$PY_TAG"
    if ! ls "$WHEELS"/mmcv-*.whl >/dev/null 2>&1; then
        log "building mmcv==$MMCV_VERSION with ops from source for torch $TORCH_VERSION (about 10 min on 2 cores, once)"
        SRC=$(mktemp -d)
        trap 'rm -rf "$SRC"' EXIT
        "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
            -d "$SRC" "mmcv==$MMCV_VERSION"
        tar -xzf "$SRC"/mmcv-"$MMCV_VERSION".tar.gz -C "$SRC"
        sed -i 's/-std=c++1[47]/-std=c++20/g' "$SRC/mmcv-$MMCV_VERSION/setup.py"
        grep -q -- '-std=c++20' "$SRC/mmcv-$MMCV_VERSION/setup.py" \
            || { echo "mmcv's setup.py no longer names a C++ standard; check the build flags" >&2; exit 1; }
        MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
            "${PIP[@]}" wheel -q --no-build-isolation --no-deps \
            -w "$SRC/wheel" "$SRC/mmcv-$MMCV_VERSION"
        mkdir -p "$WHEELS"
        mv "$SRC"/wheel/mmcv-*.whl "$WHEELS"/
    fi
    "${PIP[@]}" uninstall -q -y mmcv 2>/dev/null || true
    "${PIP[@]}" install -q "$WHEELS"/mmcv-*.whl "${PINS[@]}"
    echo "$TORCH_VERSION" > "$MMCV_STAMP"
fi

"${PIP[@]}" install -q --no-build-isolation --no-deps -e "$ROOT"

log "checking the stack"
"$PY" - <<'PY'
import mmcv, mmdet, mmengine, mmpretrain, mmseg, torch, torchvision
from mmcv.ops import RoIAlign, nms  # noqa: F401  (needs the compiled mmcv._ext)
import mmseg.models  # noqa: F401  (needs ftfy and regex)
import mmpretrain.models  # noqa: F401
import mmdeploy, onnxruntime  # noqa: F401,E401
import rla_mm  # noqa: F401
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
nms(boxes, torch.tensor([0.9, 0.8]), 0.5)  # runs a compiled op
print(f"torch {torch.__version__} | torchvision {torchvision.__version__} | "
      f"mmengine {mmengine.__version__} | mmcv {mmcv.__version__} (ops OK) | "
      f"mmdet {mmdet.__version__} | mmseg {mmseg.__version__} | "
      f"mmpretrain {mmpretrain.__version__} | mmdeploy {mmdeploy.__version__} "
      f"| onnxruntime {onnxruntime.__version__}")
PY
