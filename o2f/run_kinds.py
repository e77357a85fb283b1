"""What pairs two runs at one seed (their *kind*), and how a report names the kinds behind it; no torch, so
the reports, which name kinds, render without it."""

from __future__ import annotations

import re


def run_kind(device: str, precision: str | None) -> str:
    """What must be equal for two runs to be compared at one seed: the processor (CPU model and its bf16
    instructions, or the GPU) and the precision; the core count changes neither kernels nor results."""
    processor = re.sub(r"^CPU \((.*?)(, \d+ cores)?\)$", r"\1", device)
    return f"{processor}; {precision or 'fp32'}"


def record_kind(run: dict) -> str:
    """The kind a run's record names: evidence keeps it; a work dir's final metrics keep device and precision."""
    return run.get("kind") or run_kind(run.get("device", "unknown"), run.get("precision"))


def kind_folder(kind: str) -> str:
    """A kind as the name of the evidence folder that keeps its runs apart from another kind's
    ("Intel(R) Xeon(R) Processor, AMX-BF16; bf16" -> "intel-xeon-processor-amx-bf16_bf16")."""
    processor, _, precision = kind.rpartition("; ")
    slug = lambda text: re.sub(r"[^a-z0-9]+", "-", re.sub(r"\((r|tm)\)", "", text.lower())).strip("-")  # noqa: E731
    return f"{slug(processor)}_{slug(precision)}"


def kinds_text(kinds) -> str:
    """Kinds named in one line, each once, sorted: a kind reads "processor; precision", so " | " parts them."""
    return " | ".join(sorted(set(kinds)))
