#!/usr/bin/env bash
# The GPU check in one command (benchmarks/gpu_check.py): FCOS, POTO+3DMF+Aux and one-to-few trained at
# full scale for 20 iterations, first-iteration losses GPU == CPU, batched_nms on CUDA == CPU, the
# with/without-NMS evaluation on the GPU, and Table 5's speed columns with the GPU named.
#   bash scripts/gpu_check.sh [benchmarks/gpu_check.py options]
# Python: the project's .venv where scripts/setup.sh has set it up. On a bare GPU machine without internet
# (its own Python and a torch with CUDA, often itself in a venv), O2F_WHEELS=DIR names a folder brought
# along (README, GPU set-up): its wheels go into a folder on PYTHONPATH beside the machine's torch, and mmcv
# is built there from the source distribution in DIR unless a wheel in DIR imports with this torch. The
# mmcv wheel built is left in O2F_MMCV_OUT (default /tmp/o2f-mmcv) to bring next time.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MMCV_VERSION=2.1.0
say() { printf '[gpu_check] %s\n' "$*"; }
ops_import() { "$1" -c "import mmcv.ops" 2>/dev/null; }

if "$ROOT/.venv/bin/python" -c "import mmcv.ops, mmdet" 2>/dev/null; then
  PY="$ROOT/.venv/bin/python"
else
  [[ -n "${O2F_WHEELS:-}" ]] || { say "no set-up .venv here: run scripts/setup.sh, or set O2F_WHEELS to a folder of wheels (README, GPU set-up)"; exit 1; }
  wheels="$(cd "$O2F_WHEELS" && pwd)"
  site="${O2F_GPU_SITE:-/tmp/o2f-gpu-site}"
  PY="${PYTHON:-python3}"
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
  export PIP_NO_INDEX=1 PIP_FIND_LINKS="$wheels" PIP_DISABLE_PIP_VERSION_CHECK=1
  shopt -s nullglob
  others=() mmcv_wheels=()
  for whl in "$wheels"/*.whl; do
    if [[ "$(basename "$whl")" == mmcv-* ]]; then mmcv_wheels+=("$whl"); else others+=("$whl"); fi
  done
  ((${#others[@]})) && "$PY" -m pip install -q --no-deps --upgrade --target "$site" "${others[@]}"
  for whl in "${mmcv_wheels[@]}"; do
    ops_import "$PY" && break
    "$PY" -m pip install -q --no-deps --upgrade --target "$site" "$whl" || true
  done
  if ! ops_import "$PY"; then
    say "building mmcv $MMCV_VERSION's CUDA ops for this torch (minutes; brought wheels did not import)"
    plan="$("$PY" "$ROOT/scripts/cuda_toolchain.py" plan --assemble-into "$site-cuda")" || exit 1
    eval "$plan"
    export CUDA_HOME TORCH_CUDA_ARCH_LIST FORCE_CUDA=1
    out="${O2F_MMCV_OUT:-/tmp/o2f-mmcv}"
    rm -rf "$out"
    bash "$ROOT/scripts/build_mmcv.sh" "$PY" "$MMCV_VERSION" "$out"
    "$PY" -m pip install -q --no-deps --upgrade --target "$site" "$out"/mmcv-*.whl
    say "mmcv wheel for torch $("$PY" -c 'import torch; print(torch.__version__)') ($variant): $(ls "$out"/mmcv-*.whl)"
  fi
fi
cd "$ROOT"
PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 exec "$PY" benchmarks/gpu_check.py "$@"
