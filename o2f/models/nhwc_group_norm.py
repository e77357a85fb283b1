"""Group norm over channels-last (NHWC) CPU maps, forward and backward, as a small C kernel.

Torch's own CPU group norm is fast on NCHW maps only: over a channels-last bf16 map its forward is
3-14x slower below 32x32 and its backward ~13x slower (docs/step_cost.md). This kernel reads the map
as (N, H*W, C) rows, accumulates per channel in float32 with the channels innermost (vectorised by
the compiler), and takes two passes for the statistics (mean, then centred variance), one for the
output; the backward one pass for the sums of dy and dy * (x - mean) per channel, one for dx. Same
formulas as torch's kernels, float32 throughout; the input and output are float32 or bfloat16.

The C source is compiled with the system's C compiler on first use (about a second) into a cache
keyed by the source, the compiler and the CPU (``-march=native``), and loaded with ctypes. Where it
cannot be built, :func:`library` is None and callers use torch's group norm (same values).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

SOURCE = r"""
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float load_f32(const float *p, long i) { return p[i]; }
static inline void store_f32(float *p, long i, float v) { p[i] = v; }
static inline float load_bf16(const uint16_t *p, long i) {
    uint32_t u = (uint32_t)p[i] << 16; float f; memcpy(&f, &u, 4); return f;
}
static inline void store_bf16(uint16_t *p, long i, float v) {  /* round to nearest even, NaN kept */
    uint32_t u; memcpy(&u, &v, 4);
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    p[i] = (uint16_t)(((u & 0x7fffffffu) > 0x7f800000u) ? ((u >> 16) | 0x40u) : r);
}

#define DEFINE(NAME, T, LOAD, STORE)                                                              \
void NAME##_forward(const T *x, const float *gamma, const float *beta, T *y, float *mean,         \
                    float *rstd, long N, long HW, long C, long G, float eps) {                    \
    long D = C / G; float M = (float)(HW * D);                                                    \
    float acc[C], mc[C], a[C], b[C];                                                              \
    for (long n = 0; n < N; n++) {                                                                \
        const T *xn = x + n * HW * C; T *yn = y + n * HW * C;                                     \
        for (long c = 0; c < C; c++) acc[c] = 0.f;                                                \
        for (long k = 0; k < HW; k++)                                                             \
            for (long c = 0; c < C; c++) acc[c] += LOAD(xn, k * C + c);                           \
        for (long g = 0; g < G; g++) {                                                            \
            float s = 0.f; for (long c = g * D; c < (g + 1) * D; c++) s += acc[c];                \
            for (long c = g * D; c < (g + 1) * D; c++) mc[c] = s / M;                             \
        }                                                                                         \
        for (long c = 0; c < C; c++) acc[c] = 0.f;                                                \
        for (long k = 0; k < HW; k++)                                                             \
            for (long c = 0; c < C; c++) { float d = LOAD(xn, k * C + c) - mc[c]; acc[c] += d * d; } \
        for (long g = 0; g < G; g++) {                                                            \
            float s = 0.f; for (long c = g * D; c < (g + 1) * D; c++) s += acc[c];                \
            float r = 1.f / sqrtf(s / M + eps), m = mc[g * D];                                    \
            mean[n * G + g] = m; rstd[n * G + g] = r;                                             \
            for (long c = g * D; c < (g + 1) * D; c++) { a[c] = r * gamma[c]; b[c] = beta[c] - m * a[c]; } \
        }                                                                                         \
        for (long k = 0; k < HW; k++)                                                             \
            for (long c = 0; c < C; c++) STORE(yn, k * C + c, LOAD(xn, k * C + c) * a[c] + b[c]); \
    }                                                                                             \
}                                                                                                 \
void NAME##_backward(const T *dy, const T *x, const float *mean, const float *rstd,              \
                     const float *gamma, T *dx, float *dgamma, float *dbeta,                      \
                     long N, long HW, long C, long G) {                                           \
    long D = C / G; float M = (float)(HW * D);                                                    \
    float ds[C], db[C], mc[C], rc[C], a[C], bx[C], k0[C];                                         \
    for (long c = 0; c < C; c++) { dgamma[c] = 0.f; dbeta[c] = 0.f; }                             \
    for (long n = 0; n < N; n++) {                                                                \
        const T *xn = x + n * HW * C, *dyn = dy + n * HW * C;                                     \
        for (long c = 0; c < C; c++) {                                                            \
            mc[c] = mean[n * G + c / D]; rc[c] = rstd[n * G + c / D]; ds[c] = 0.f; db[c] = 0.f;   \
        }                                                                                         \
        for (long k = 0; k < HW; k++)                                                             \
            for (long c = 0; c < C; c++) {                                                        \
                float d = LOAD(dyn, k * C + c);                                                   \
                ds[c] += d * (LOAD(xn, k * C + c) - mc[c]); db[c] += d;                           \
            }                                                                                     \
        for (long c = 0; c < C; c++) { dgamma[c] += ds[c] * rc[c]; dbeta[c] += db[c]; }           \
        if (!dx) continue;                                                                        \
        for (long g = 0; g < G; g++) {                                                            \
            float sb = 0.f, sd = 0.f, r = rstd[n * G + g], m = mean[n * G + g];                   \
            for (long c = g * D; c < (g + 1) * D; c++) { sb += gamma[c] * db[c]; sd += gamma[c] * ds[c]; } \
            float xc = -r * r * r * sd / M, cc = -r * sb / M - m * xc;                            \
            for (long c = g * D; c < (g + 1) * D; c++) { a[c] = r * gamma[c]; bx[c] = xc; k0[c] = cc; } \
        }                                                                                         \
        T *dxn = dx + n * HW * C;                                                                 \
        for (long k = 0; k < HW; k++)                                                             \
            for (long c = 0; c < C; c++)                                                          \
                STORE(dxn, k * C + c, a[c] * LOAD(dyn, k * C + c) + bx[c] * LOAD(xn, k * C + c) + k0[c]); \
    }                                                                                             \
}

DEFINE(gn_f32, float, load_f32, store_f32)
DEFINE(gn_bf16, uint16_t, load_bf16, store_bf16)
"""

_FLAGS = ["-O3", "-march=native", "-fno-math-errno", "-shared", "-fPIC"]
_lock = threading.Lock()
_library: ctypes.CDLL | None = None
_failed = False
_NAMES = {torch.float32: "gn_f32", torch.bfloat16: "gn_bf16"}


def _cpu_key() -> str:
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        flags = platform.processor()
    return flags


def _build() -> ctypes.CDLL:
    compiler = os.environ.get("CC", "cc")
    version = subprocess.run([compiler, "--version"], capture_output=True, text=True, check=True).stdout
    key = hashlib.sha256("\0".join([SOURCE, " ".join(_FLAGS), version, platform.machine(), _cpu_key()])
                         .encode()).hexdigest()[:16]
    cache = Path(os.environ.get("O2F_KERNEL_CACHE", Path.home() / ".cache" / "o2f" / "kernels"))
    path = cache / f"nhwc_group_norm_{key}.so"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            source, built = Path(tmp) / "nhwc_group_norm.c", Path(tmp) / "nhwc_group_norm.so"
            source.write_text(SOURCE)
            subprocess.run([compiler, *_FLAGS, str(source), "-o", str(built), "-lm"], check=True,
                           capture_output=True, text=True)
            os.replace(built, path)  # atomic: concurrent builders leave one whole library
    library = ctypes.CDLL(str(path))
    p, i, f = ctypes.c_void_p, ctypes.c_long, ctypes.c_float
    for name in _NAMES.values():
        getattr(library, f"{name}_forward").argtypes = [p, p, p, p, p, p, i, i, i, i, f]
        getattr(library, f"{name}_backward").argtypes = [p, p, p, p, p, p, p, p, i, i, i, i]
    return library


def library() -> ctypes.CDLL | None:
    """The compiled kernel, built on first call; None where it cannot be built (warned once)."""
    global _library, _failed
    with _lock:
        if _library is None and not _failed:
            try:
                _library = _build()
            except (OSError, subprocess.CalledProcessError) as error:
                _failed = True
                detail = getattr(error, "stderr", "") or error
                warnings.warn(f"channels-last group norm kernel not built ({detail}); using torch's group norm",
                              stacklevel=3)
    return _library


def supports(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> bool:
    """Whether the kernel takes this map and these parameters (float32 affine ones); builds it if needed."""
    return (x.device.type == "cpu" and x.dtype in _NAMES and weight is not None and bias is not None
            and weight.dtype == torch.float32 and bias.dtype == torch.float32 and library() is not None)


def _ptr(t: Tensor) -> int:
    return t.data_ptr()


class NHWCGroupNorm(torch.autograd.Function):
    """Group norm of a channels-last (N, C, H, W) CPU map; output and input gradient channels-last."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, groups: int, eps: float) -> Tensor:
        n, c, h, w = x.shape
        x = x.contiguous(memory_format=torch.channels_last)
        weight_c, bias_c = weight.detach().contiguous(), bias.detach().contiguous()
        y = torch.empty_like(x, memory_format=torch.channels_last)
        mean = x.new_empty((n, groups), dtype=torch.float32)
        rstd = torch.empty_like(mean)
        getattr(library(), f"{_NAMES[x.dtype]}_forward")(
            _ptr(x), _ptr(weight_c), _ptr(bias_c), _ptr(y), _ptr(mean), _ptr(rstd), n, h * w, c, groups, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.groups = groups
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, dy: Tensor):
        x, weight, mean, rstd = ctx.saved_tensors
        n, c, h, w = x.shape
        dy = dy.to(x.dtype).contiguous(memory_format=torch.channels_last)
        dx = torch.empty_like(x, memory_format=torch.channels_last) if ctx.needs_input_grad[0] else None
        dweight = torch.empty(c, dtype=torch.float32)
        dbias = torch.empty(c, dtype=torch.float32)
        gamma = weight.detach().contiguous()
        getattr(library(), f"{_NAMES[x.dtype]}_backward")(
            _ptr(dy), _ptr(x), _ptr(mean), _ptr(rstd), _ptr(gamma),
            _ptr(dx) if dx is not None else None, _ptr(dweight), _ptr(dbias), n, h * w, c, ctx.groups)
        return dx, dweight, dbias, None, None
