"""Train one experiment with mmengine's Runner, resuming exactly from the work dir's last checkpoint."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

from ..engine.graceful_stop import Stopped, stop_on_sigterm
from ..engine.precision import use_precision, work_dir_precision
from ..engine.resume import complete, latest_checkpoint
from ..errors import O2FError
from . import tracking
from .work_dir_lock import LOCK_FILE

SEED_FILE = "seed"
PREVIOUS_PREFIX = "previous-"


def add_hook(cfg: Config, hook_type: str) -> None:
    hooks = list(cfg.get("custom_hooks", []))
    if not any(h.get("type") == hook_type for h in hooks):
        hooks.append(dict(type=hook_type))
    cfg.custom_hooks = hooks


def requested_seed(cfg: Config, seed: int | None) -> int | None:
    return seed if seed is not None else cfg.get("randomness", {}).get("seed")


def work_dir_seed(work_dir: Path, requested: int | None) -> int:
    """The run's seed: the one asked for, else the one the work dir was started with, else a new one;
    remembered in the work dir, since a resumed run must draw what the first one would have."""
    path = work_dir / SEED_FILE
    if path.exists():
        recorded = int(path.read_text())
        if requested is not None and requested != recorded:
            raise O2FError(f"{work_dir} was trained with seed {recorded}, not {requested}; rerun with "
                           f"--seed {recorded}, use a new --work-dir, or start over here with --no-resume")
        return recorded
    seed = requested if requested is not None else secrets.randbelow(2**31)
    work_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(str(seed))
    return seed


def wrap_datasets(cfg: Config) -> None:
    """Loading errors name the image (``NamedLoadErrors``) in training and validation."""
    for loader in ("train_dataloader", "val_dataloader"):
        if cfg.get(loader) and cfg[loader].dataset.get("type") != "NamedLoadErrors":
            cfg[loader].dataset = dict(type="NamedLoadErrors", dataset=cfg[loader].dataset)


def build_runner(cfg: Config, work_dir: str | Path, resume: bool = True, seed: int | None = None,
                 mlflow: dict | None = None) -> Runner:
    """A Runner writing into ``work_dir``; ``resume`` picks up its last checkpoint if there is one.

    ``mlflow`` (tracking_uri, experiment, run_name, tags) adds mmengine's MLflow backend, logging
    into the run remembered in ``work_dir`` so a resumed job continues it.
    """
    work_dir = Path(work_dir)
    cfg.work_dir = str(work_dir)
    checkpoint = latest_checkpoint(work_dir) if resume else None
    cfg.resume = checkpoint is not None
    cfg.load_from = str(checkpoint) if checkpoint else (None if resume else cfg.get("load_from"))
    cfg.randomness = dict(cfg.get("randomness", {}), seed=work_dir_seed(work_dir, requested_seed(cfg, seed)))
    precision = run_precision(cfg, work_dir, resume)
    kept = " (a resumed run keeps the precision it started in)" if checkpoint else ""
    print(f"o2f: precision {precision.line()}{kept}")
    add_hook(cfg, "EpochMetricsHook")
    add_hook(cfg, "ExactResumeHook")
    add_hook(cfg, "GracefulStopHook")
    wrap_datasets(cfg)
    if cfg.train_dataloader.get("num_workers", 0) > 0:
        # persistent workers would carry their random state across epochs; fresh ones start from the
        # epoch's seed (ExactResumeHook), so a resumed epoch draws what the uninterrupted one did
        cfg.train_dataloader.persistent_workers = False
    # mmdet names its visualizer "visualizer", and mmengine hands a second Runner in the same process
    # that existing instance, with the first one's backends and folder: give each Runner its own.
    cfg.visualizer.name = f"visualizer-{uuid.uuid4().hex[:12]}"
    if mlflow:
        # under torchrun only rank 0 logs (mmengine's visualizer is master-only): it alone creates or
        # finds the run, so N processes make one run and never race on a new SQLite store
        mlflow = {**mlflow, "tags": {**mlflow["tags"], "precision": precision.name}}
        if int(os.environ.get("RANK", "0")) == 0:
            tracking.prepare_run(mlflow["tracking_uri"], mlflow["experiment"], work_dir, mlflow["run_name"],
                                 mlflow["tags"], cfg)
        cfg.visualizer.vis_backends = [*cfg.visualizer.get("vis_backends", []),
                                       tracking.vis_backend(**mlflow)]
    return Runner.from_cfg(cfg)


def run_precision(cfg: Config, work_dir: Path, resume: bool = True):
    """The precision the run trains in (``o2f.engine.precision``), set on the config's optimiser wrapper."""
    from ..engine.device import training_device

    precision = work_dir_precision(work_dir, cfg.get("precision", "fp32"), resume, training_device())
    use_precision(cfg, precision)
    return precision


def set_aside_previous(work_dir: Path) -> Path | None:
    """--no-resume on a used work dir: move what is there into ``previous-<time>/`` (nothing is lost, and
    nothing of it is resumed, re-logged or mixed into the new training's metrics)."""
    entries = [p for p in work_dir.iterdir() if p.name != LOCK_FILE and not p.name.startswith(PREVIOUS_PREFIX)] \
        if work_dir.is_dir() else []
    if not entries:
        return None
    aside = work_dir / f"{PREVIOUS_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}"
    aside.mkdir()
    for entry in entries:
        shutil.move(str(entry), aside / entry.name)
    return aside


def prepare_work_dir(cfg: Config, work_dir: str | Path, resume: bool, seed: int | None) -> None:
    """What the launching process settles, once, before training (and before torchrun's workers start):
    --no-resume moves an earlier training aside, and the run's seed and precision are chosen and remembered."""
    work_dir = Path(work_dir)
    if not resume and (aside := set_aside_previous(work_dir)):
        print(f"o2f: --no-resume: the earlier training in {work_dir} was moved to {aside}")
    work_dir_seed(work_dir, requested_seed(cfg, seed))
    run_precision(cfg, work_dir)


def no_space(err: OSError, work_dir: Path) -> str:
    """A full disk in one line: the file, the free space, the checkpoint a rerun resumes from. A checkpoint
    cut short by it is removed (it would be skipped anyway) to give the space back."""
    for path in work_dir.glob("*.pth"):
        if not complete(path):
            path.unlink(missing_ok=True)
    free = shutil.disk_usage(work_dir).free / 2**20
    resumes = latest_checkpoint(work_dir)
    where = f"resumes from {resumes.name}" if resumes else "starts from the beginning"
    return (f"no space left on the device writing {err.filename or work_dir} ({free:.0f} MiB free there); "
            f"free some space and rerun: the run {where}")


def train(cfg: Config, work_dir: str | Path, resume: bool = True, seed: int | None = None,
          mlflow: dict | None = None) -> Runner:
    """Train (resuming) and record the outcome in MLflow. Errors reach the caller as one-line O2FErrors
    where they concern the user's input, data or a stop; anything else keeps its traceback."""
    logs_run = mlflow and int(os.environ.get("RANK", "0")) == 0
    try:
        with tracking.recorded_outcome(mlflow["tracking_uri"]) if logs_run else nullcontext(), stop_on_sigterm():
            runner = build_runner(cfg, Path(work_dir), resume, seed, mlflow)
            runner.train()
            if logs_run:
                tracking.tag_failed_run(mlflow["tracking_uri"], Path(work_dir))
    except Stopped as err:
        raise O2FError(str(err)) from err
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise O2FError(no_space(err, Path(work_dir))) from err
        raise
    except O2FError as err:
        if "\n" in str(err):  # raised in a data loader worker, which wraps it in its traceback
            raise O2FError(tracking.one_line(err)) from err
        raise
    return runner
