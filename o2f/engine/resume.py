"""Exact resume: a run killed anywhere and rerun ends as if it had never stopped.

mmengine restores model, optimiser, schedulers, message hub, epoch and iteration from the last
checkpoint, and ``DefaultSampler`` shuffles by (seed, epoch). What it does not restore is the state of
the random generators that the data pipeline's random transforms (flips, crops, colour jitter) and
the loader draw from: a resumed run starts them from the seed, where the uninterrupted run had them
after k epochs. So each epoch starts its generators from (seed, epoch) instead, in the main process
and in each loader worker; an epoch then draws the same numbers however the run got there.

mmengine writes an epoch's checkpoint before validating it; a run killed in validation resumes after
that epoch and would never validate it. So on resume an epoch the checkpoint holds but
``epoch_metrics.jsonl`` does not is validated before training goes on.

The checkpoint to resume is found by name in the work dir (``last_checkpoint`` holds an absolute
path, which breaks when the work dir moves); an incomplete one (killed while writing) is skipped.
"""

from __future__ import annotations

import re
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
from mmdet.registry import HOOKS
from mmengine.dataset import worker_init_fn as default_worker_init_fn
from mmengine.dist import broadcast_object_list
from mmengine.hooks import Hook
from mmengine.runner.utils import set_random_seed

from ..errors import O2FError
from .hooks import read_epoch_metrics

CHECKPOINT_NAME = re.compile(r"(epoch|iter)_(\d+)\.pth$")


def complete(checkpoint: Path) -> bool:
    """A torch checkpoint is a zip file; one cut short by a kill has no central directory."""
    try:
        with zipfile.ZipFile(checkpoint) as archive:
            return bool(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def latest_checkpoint(work_dir: str | Path) -> Path | None:
    """The checkpoint to resume: the one ``last_checkpoint`` names, looked up in ``work_dir`` by file
    name; if it is missing or incomplete, the newest complete ``epoch_N.pth``/``iter_N.pth``."""
    work_dir = Path(work_dir)
    pointer = work_dir / "last_checkpoint"
    named = pointer.read_text().strip() if pointer.exists() else ""
    if named and complete(work_dir / Path(named).name):
        return work_dir / Path(named).name
    found = sorted((int(m.group(2)), path) for path in work_dir.glob("*.pth")
                   if (m := CHECKPOINT_NAME.search(path.name)))
    for _, path in reversed(found):
        if complete(path):
            return path
    if named:
        raise O2FError(f"{pointer} names {Path(named).name}, which is missing or incomplete, and no other "
                       f"complete checkpoint is in {work_dir}; restore it, or start over with --no-resume")
    return None


def epoch_seed(seed: int, epoch: int) -> int:
    """A 32-bit seed for one epoch of a run seeded with ``seed`` (numpy accepts at most 2**32 - 1)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


def validation_due(runner, epoch: int) -> bool:
    """Whether mmengine's EpochBasedTrainLoop validates after ``epoch`` (same rule, same intervals)."""
    loop = runner.train_loop
    loop._decide_current_val_interval()
    return (runner.val_loop is not None and epoch >= loop.val_begin
            and (epoch % loop.val_interval == 0 or epoch == loop.max_epochs))


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Seed each epoch from (seed, epoch); validate a resumed epoch that was never validated."""

    priority = "LOWEST"  # before_train: after every other hook has set up (checkpoint hook, loggers)

    def before_train(self, runner) -> None:
        epoch = runner.epoch
        missing = [epoch > 0 and validation_due(runner, epoch)
                   and epoch not in {e["epoch"] for e in read_epoch_metrics(runner.work_dir)}]
        broadcast_object_list(missing)  # rank 0 read the file; every rank validates together
        if missing[0]:
            runner.logger.info(f"epoch {epoch} was saved but not validated (stopped during validation); "
                               "validating it now")
            runner.val_loop.run()

    def before_train_epoch(self, runner) -> None:
        seed = epoch_seed(runner.seed, runner.epoch)
        set_random_seed(seed)  # python, numpy, torch (and CUDA)
        loader = runner.train_loop.dataloader
        if loader.num_workers > 0 and isinstance(loader.worker_init_fn, partial) \
                and loader.worker_init_fn.func is default_worker_init_fn:
            loader.worker_init_fn = partial(loader.worker_init_fn, seed=seed)
