#!/usr/bin/env bash
# Build mmcv's wheel with its compiled ops from PyPI's source distribution (mmcv has no wheel for this torch).
#   bash scripts/build_mmcv.sh PYTHON MMCV_VERSION OUT_DIR
# CUDA ops too with FORCE_CUDA=1, CUDA_HOME and TORCH_CUDA_ARCH_LIST set (scripts/cuda_toolchain.py plan);
# offline, PIP_NO_INDEX=1 PIP_FIND_LINKS=DIR take the source distribution from DIR.
set -euo pipefail
py="$1" version="$2" out="$3"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
"$py" -m pip --disable-pip-version-check -q download --no-deps --no-binary :all: --no-build-isolation \
  -d "$build" "mmcv==$version"
tar -xzf "$build"/mmcv-*.tar.gz -C "$build"
src="$(find "$build" -maxdepth 1 -type d -name 'mmcv-*' | head -1)"
# torch >= 2.10 ATen headers need C++20; mmcv 2.1.0 forces C++17.
sed -i 's/-std=c++17/-std=c++20/g; s/std=c++14/std=c++20/g' "$src/setup.py"
(cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" CFLAGS=-g0 CXXFLAGS=-g0 \
   "$py" -m pip --disable-pip-version-check -q wheel --no-deps --no-build-isolation -w "$out" .)
