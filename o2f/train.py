"""Train one experiment with mmengine's Runner, resuming from the work dir's last checkpoint."""

from __future__ import annotations

from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner


def build_runner(cfg: Config, work_dir: str | Path, resume: bool = True) -> Runner:
    """A Runner writing into ``work_dir``; ``resume`` picks up its last checkpoint if there is one."""
    cfg.work_dir = str(work_dir)
    cfg.resume = bool(resume)  # with load_from unset, mmengine finds the last checkpoint itself
    cfg.load_from = cfg.get("load_from") if not resume else None
    return Runner.from_cfg(cfg)


def train(cfg: Config, work_dir: str | Path, resume: bool = True) -> Runner:
    runner = build_runner(cfg, work_dir, resume)
    runner.train()
    return runner
