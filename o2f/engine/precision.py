"""The precision a training runs in: bf16 autocast where the device runs bf16 natively, float32 elsewhere.

A config's ``precision`` (``auto``, ``bf16`` or ``fp32``; each scale file sets its default) picks the
optimiser wrapper: ``BF16OptimWrapper`` (bf16 convolutions, float32 weights and losses) or mmengine's
plain ``OptimWrapper``. ``auto`` asks the hardware: a CPU without AMX-BF16 or AVX512-BF16 only emulates
bf16 in oneDNN, which makes the demo step about 17 times slower than float32, so it trains in float32.

A run keeps one precision from its first step to its last: the work dir remembers the one it started
with. Resumed under ``auto`` on other hardware it continues in that precision (its trained epochs and
its record stay one recipe); an explicit setting that would switch it stops with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import O2FError
from .device import BF16_INSTRUCTIONS, cpu_flags

PRECISIONS = ("auto", "bf16", "fp32")
PRECISION_FILE = "precision"  # in the work dir: the precision the run started in
WRAPPERS = {"bf16": "BF16OptimWrapper", "fp32": "OptimWrapper"}
NAMES = {"bf16": "bf16", "fp32": "float32"}
# cpuinfo flag -> name of the widest vector instructions, widest first (said when bf16 is not native)
VECTOR_INSTRUCTIONS = {"avx512f": "AVX-512 without BF16", "avx2": "AVX2", "avx": "AVX"}


@dataclass(frozen=True)
class Precision:
    """What a run trains in (``bf16`` or ``fp32``) and why, as its log's first lines say it."""

    name: str
    reason: str

    def line(self) -> str:
        return f"{NAMES[self.name]}: {self.reason}"


def check_setting(setting: object) -> str:
    """The precision setting, or one line naming the bad value."""
    if setting not in PRECISIONS:
        raise O2FError(f"precision must be one of {', '.join(PRECISIONS)}, not {setting!r}")
    return str(setting)


def native_bf16(device: str = "cpu", cpuinfo: str | None = None) -> tuple[bool, str]:
    """Whether ``device`` runs bf16 natively, and the instructions or GPU that say so."""
    if device == "cuda":
        name = torch.cuda.get_device_name(0)
        return (True, name) if torch.cuda.is_bf16_supported(including_emulation=False) else (False, name)
    flags = cpu_flags(cpuinfo)
    bf16 = next((name for flag, name in BF16_INSTRUCTIONS.items() if flag in flags), None)
    if bf16:
        return True, bf16
    return False, next((name for flag, name in VECTOR_INSTRUCTIONS.items() if flag in flags), "no AVX")


def choose(setting: str, device: str = "cpu", cpuinfo: str | None = None) -> Precision:
    """The precision a new run trains in under ``setting`` on this hardware."""
    setting = check_setting(setting)
    if setting != "auto":
        return Precision(setting, f"set by precision={setting}")
    native, what = native_bf16(device, cpuinfo)
    hardware = "the GPU" if device == "cuda" else "this CPU"
    if native:
        return Precision("bf16", f"{hardware} runs bf16 natively ({what})")
    return Precision("fp32", f"{hardware} has no native bf16 ({what})")


def work_dir_precision(work_dir: Path, setting: str, resume: bool = True, device: str = "cpu",
                       cpuinfo: str | None = None) -> Precision:
    """The run's precision: the one its work dir started with when it resumes, else the one chosen now
    (remembered with its reason)."""
    path = Path(work_dir) / PRECISION_FILE
    if not resume or not path.exists():
        chosen = choose(setting, device, cpuinfo)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{chosen.name}\n{chosen.reason}\n")
        return chosen
    recorded, reason = read_record(path)
    setting = check_setting(setting)
    if setting not in ("auto", recorded):
        raise O2FError(f"{work_dir} trained in {NAMES[recorded]} and precision={setting} would switch it mid-run; "
                       f"rerun with precision={recorded} or auto, use a new --work-dir, or start over here with "
                       "--no-resume")
    here = choose("auto", device, cpuinfo)
    slow = f" (slow here: {here.reason})" if recorded == "bf16" and here.name == "fp32" else ""
    return Precision(recorded, f"{reason or 'as the run started'}{slow}")


def recorded_precision(work_dir: str | Path) -> str | None:
    """The precision a work dir's run trains in (None before it started)."""
    path = Path(work_dir) / PRECISION_FILE
    return read_record(path)[0] if path.exists() else None


def read_record(path: Path) -> tuple[str, str]:
    """(precision, why it was chosen), as ``work_dir_precision`` wrote them."""
    name, _, reason = path.read_text().partition("\n")
    return name, reason.strip()


def use_precision(cfg, precision: Precision) -> None:
    """Point the config's optimiser wrapper at the precision (a wrapper of another kind is refused)."""
    wrapper = cfg.optim_wrapper.get("type", "OptimWrapper")
    if wrapper not in WRAPPERS.values():
        raise O2FError(f"precision={precision.name} needs optim_wrapper.type OptimWrapper or BF16OptimWrapper, "
                       f"not {wrapper}")
    cfg.optim_wrapper.type = WRAPPERS[precision.name]
