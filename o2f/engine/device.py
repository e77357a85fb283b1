"""What trained or was timed: the GPU, or the CPU with its widest bfloat16 instructions.

The demo recipe's convolutions run in bf16 on oneDNN, which picks AMX tiles where the CPU has them and
AVX-512 BF16 otherwise: the two give different step times and different low-order bits, so a run's
record names which one it had.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

CPUINFO = Path("/proc/cpuinfo")
# cpuinfo flag -> name, widest first
BF16_INSTRUCTIONS = {"amx_bf16": "AMX-BF16", "avx512_bf16": "AVX512-BF16"}


def first_processor(cpuinfo: str | None = None) -> dict[str, str]:
    """The fields of /proc/cpuinfo's first processor (every core of a machine has the same)."""
    if cpuinfo is None:
        cpuinfo = CPUINFO.read_text() if CPUINFO.exists() else ""
    lines = cpuinfo.split("\n\n")[0].splitlines()
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}


def cpu_flags(cpuinfo: str | None = None, fields: dict[str, str] | None = None) -> set[str]:
    """The first processor's flags, from cpuinfo or from its fields already read."""
    return set((fields if fields is not None else first_processor(cpuinfo)).get("flags", "").split())


def cpu_name(cpuinfo: str | None = None) -> str:
    """The CPU's model name and its widest bf16 instruction set."""
    fields = first_processor(cpuinfo)
    model = fields.get("model name") or platform.processor() or platform.machine()
    flags = cpu_flags(fields=fields)
    bf16 = next((name for flag, name in BF16_INSTRUCTIONS.items() if flag in flags), "no bf16 instructions")
    return f"{model}, {bf16}"


def training_device() -> str:
    """Where a training computes: the GPU when there is one."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def device_name() -> str:
    """What trained: the GPU's name, or the CPU's with its bf16 instructions and core count."""
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return f"CPU ({cpu_name()}, {os.cpu_count()} cores)"
