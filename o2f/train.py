"""Train one experiment with mmengine's Runner, resuming from the work dir's last checkpoint."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

from . import tracking


def add_hook(cfg: Config, hook_type: str) -> None:
    hooks = list(cfg.get("custom_hooks", []))
    if not any(h.get("type") == hook_type for h in hooks):
        hooks.append(dict(type=hook_type))
    cfg.custom_hooks = hooks


def build_runner(cfg: Config, work_dir: str | Path, resume: bool = True, seed: int | None = None,
                 mlflow: dict | None = None) -> Runner:
    """A Runner writing into ``work_dir``; ``resume`` picks up its last checkpoint if there is one.

    ``mlflow`` (tracking_uri, experiment, run_name, tags) adds mmengine's MLflow backend, logging
    into the run remembered in ``work_dir`` so a resumed job continues it.
    """
    cfg.work_dir = str(work_dir)
    cfg.resume = bool(resume)  # with load_from unset, mmengine finds the last checkpoint itself
    if resume:
        cfg.load_from = None
    if seed is not None:
        cfg.randomness = dict(seed=seed)
    add_hook(cfg, "EpochMetricsHook")
    # mmdet names its visualizer "visualizer", and mmengine hands a second Runner in the same process
    # that existing instance, with the first one's backends and folder: give each Runner its own.
    cfg.visualizer.name = f"visualizer-{uuid.uuid4().hex[:12]}"
    if mlflow:
        # under torchrun only rank 0 logs (mmengine's visualizer is master-only): it alone creates or
        # finds the run, so N processes make one run and never race on a new SQLite store
        if int(os.environ.get("RANK", "0")) == 0:
            tracking.prepare_run(mlflow["tracking_uri"], mlflow["experiment"], work_dir, mlflow["run_name"],
                                 mlflow["tags"])
        cfg.visualizer.vis_backends = [*cfg.visualizer.get("vis_backends", []),
                                       tracking.vis_backend(**mlflow)]
    return Runner.from_cfg(cfg)


def train(cfg: Config, work_dir: str | Path, resume: bool = True, seed: int | None = None,
          mlflow: dict | None = None) -> Runner:
    runner = build_runner(cfg, work_dir, resume, seed, mlflow)
    runner.train()
    return runner
