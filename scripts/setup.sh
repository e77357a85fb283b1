#!/usr/bin/env bash
# Idempotent set-up: a project virtual environment with the pinned stack, mmcv built from source.
# Both README commands call this; a second run on a set-up machine only checks and returns.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${O2F_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
TORCH_VERSION=2.14.1
TORCHVISION_VERSION=0.29.1
MMCV_VERSION=2.1.0
WHEEL_CACHE="${O2F_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/o2f/wheels}"
STAMP="$VENV/.o2f-installed"

say() { printf '[setup] %s\n' "$*"; }

# The stamp records what was installed; it is stale when pyproject.toml changes.
want_stamp="$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)"
# A torch index or a forced CUDA build asked for makes a different environment.
[[ -n "${O2F_TORCH_INDEX_URL:-}" ]] && want_stamp+=" torch-index=$O2F_TORCH_INDEX_URL"
[[ "${O2F_FORCE_CUDA:-0}" == 1 ]] && want_stamp+=" force-cuda"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$want_stamp" ]] \
   && "$VENV/bin/python" -c "import mmcv.ops, mmdet, o2f" 2>/dev/null; then
  say "environment up to date ($VENV)"
  exit 0
fi

[[ -x "$VENV/bin/python" ]] || { say "creating $VENV"; "$PY" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)
"${PIP[@]}" install --upgrade pip wheel 'setuptools<80'

# O2F_TORCH_INDEX_URL installs torch's build for another CUDA version (e.g. .../whl/cu126 for an older
# driver); everything after follows the torch installed.
torch_index=()
[[ -n "${O2F_TORCH_INDEX_URL:-}" ]] && torch_index=(--index-url "$O2F_TORCH_INDEX_URL")
say "installing torch $TORCH_VERSION and torchvision $TORCHVISION_VERSION${O2F_TORCH_INDEX_URL:+ from $O2F_TORCH_INDEX_URL}"
"${PIP[@]}" install "${torch_index[@]}" "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"

# mmcv's build picks its OpenCV requirement from what is installed: install the pinned OpenCV
# (the one mmengine requires) and numpy first, so the build pulls in nothing else.
pin() { "$VENV/bin/python" - "$ROOT/pyproject.toml" "$@" <<'PY'
import sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
print(" ".join(d for d in deps if d.split("==")[0] in sys.argv[2:]))
PY
}
# shellcheck disable=SC2046
"${PIP[@]}" install $(pin numpy opencv-python)

# mmcv has no wheel for this torch: build it once from the PyPI sdist and cache the wheel,
# keyed by mmcv, torch, CPU or CUDA version and architectures, and Python version.
pyver="$("$VENV/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
has_cuda="$("$VENV/bin/python" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')"
toolchain=("$VENV/bin/python" "$ROOT/scripts/cuda_toolchain.py")
if [[ "$has_cuda" == cpu && "${O2F_FORCE_CUDA:-0}" != 1 ]] && command -v nvidia-smi >/dev/null 2>&1; then
  "${toolchain[@]}" driver || exit 1  # a driver too old for torch's CUDA: one line saying what to do
fi
variant="$has_cuda"
if [[ "$has_cuda" == cuda || "${O2F_FORCE_CUDA:-0}" == 1 ]]; then
  # an nvcc of torch's CUDA major version (found, completed with torch's nvidia wheels where the toolkit
  # lacks headers torch includes, or assembled from PyPI's compiler wheels) and the architectures to
  # build: sets CUDA_HOME, TORCH_CUDA_ARCH_LIST and variant (e.g. cu130-sm90)
  plan="$("${toolchain[@]}" plan --assemble-into "$VENV/cuda")" || exit 1
  eval "$plan"
  export CUDA_HOME TORCH_CUDA_ARCH_LIST
  has_cuda=cuda
fi
key="mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$variant-$pyver"
mkdir -p "$WHEEL_CACHE/$key"
if ! ls "$WHEEL_CACHE/$key"/mmcv-*.whl >/dev/null 2>&1; then
  say "building mmcv $MMCV_VERSION with compiled ops ($variant); takes minutes, done once"
  if [[ "$has_cuda" == cuda ]]; then export FORCE_CUDA=1; fi
  bash "$ROOT/scripts/build_mmcv.sh" "$VENV/bin/python" "$MMCV_VERSION" "$WHEEL_CACHE/$key"
fi

say "installing the pinned stack and the o2f package"
# pip keeps an installed mmcv of the same version: a CUDA build replaces a CPU one explicitly.
[[ "$variant" != cpu ]] && "${PIP[@]}" install --no-deps --force-reinstall "$WHEEL_CACHE/$key"/mmcv-*.whl
# One resolver call with the built wheel named, so pip never falls back to the mmcv sdist.
"${PIP[@]}" install "$WHEEL_CACHE/$key"/mmcv-*.whl -e "$ROOT[pipeline,reporting,deploy,dev]"
"$VENV/bin/python" -c "import mmcv.ops, mmdet, mmengine, o2f; print('[setup] mmcv', mmcv.__version__, 'ops OK; mmdet', mmdet.__version__)"
# `snakemake --profile slurm` looks the name up in ~/.config/snakemake: link the project's profile.
profiles="${XDG_CONFIG_HOME:-$HOME/.config}/snakemake"
mkdir -p "$profiles"
[[ -e "$profiles/slurm" ]] || ln -s "$ROOT/workflow/profiles/slurm" "$profiles/slurm"
echo "$want_stamp" > "$STAMP"
