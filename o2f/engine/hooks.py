"""Hooks that carry the training epoch into the model."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

EPOCH_METRICS = "epoch_metrics.jsonl"
FINAL_METRICS = "final_metrics.json"


@HOOKS.register_module()
class EpochToHeadHook(Hook):
    """Before each training epoch, call ``bbox_head.set_epoch(epoch, max_epochs)``.

    Epoch-dependent losses (one-to-few's T of Eq. 3, Hybrid-Epoch's weight switch) read it; a resumed
    run restores ``runner.epoch`` before this hook fires, so the schedule continues where it was.
    """

    priority = "NORMAL"

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model.bbox_head.set_epoch(runner.epoch, runner.max_epochs)


@HOOKS.register_module()
class EpochMetricsHook(Hook):
    """Append each validation's metrics to ``epoch_metrics.jsonl``; write ``final_metrics.json`` at the end.

    The report and the DAG read these files: one line per epoch (a resumed run re-validating an epoch
    overrides the earlier line), and a final file that appears only when training finished.
    """

    priority = "LOW"

    def after_val_epoch(self, runner, metrics=None) -> None:
        if metrics and runner.rank == 0:
            with open(Path(runner.work_dir) / EPOCH_METRICS, "a") as handle:
                handle.write(json.dumps({"epoch": runner.epoch, **metrics}) + "\n")

    def after_train(self, runner) -> None:
        if runner.rank == 0:
            epochs = read_epoch_metrics(runner.work_dir)
            final = {"epochs": epochs, "final": epochs[-1] if epochs else {}, "device": device_name()}
            tmp = Path(runner.work_dir) / (FINAL_METRICS + ".partial")
            tmp.write_text(json.dumps(final, indent=1))
            tmp.rename(Path(runner.work_dir) / FINAL_METRICS)


def device_name() -> str:
    """What trained: the GPU's name, or the CPU's."""
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def read_epoch_metrics(work_dir: str | Path) -> list[dict]:
    """Per-epoch metrics of a work dir, one entry per epoch, in epoch order."""
    path = Path(work_dir) / EPOCH_METRICS
    by_epoch = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                by_epoch[entry["epoch"]] = entry
    return [by_epoch[e] for e in sorted(by_epoch)]
