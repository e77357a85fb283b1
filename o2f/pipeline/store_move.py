"""Move a finished campaign to another MLflow store (a tracking server, a fresh file) without retraining.

Each finished run a work dir names (``mlflow_run_id``) is copied from the store it was logged to: its
params, tags, every metric's per-step history, artifacts and status, into a run tagged with the run it
came from. The work dir then names the copy, so a resumed or rerun job, and the DAG against the new
store (whose trainings do not depend on the store's URI), plan no training. A second move finds the
copies (by the work dir's id, or by the tag) and changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..work_dir import FINAL_METRICS
from .tracking import RUN_ID_FILE, client, ensure_experiment

COPIED_FROM_TAG = "o2f.copied_from"  # the run id a copy was made from
BATCH = 1000  # metrics per log_batch call (MLflow's limit); params go 100 at a time


@dataclass(frozen=True)
class Moved:
    work_dir: Path
    source_run: str
    target_run: str
    copied: bool  # False: the target already held it


def copy_run(source, target, run_id: str, experiment_id: str) -> tuple[str, bool]:
    """The target's copy of ``run_id`` (made now, or found by its tag) and whether it was made now."""
    from mlflow.entities import Param

    found = target.search_runs([experiment_id], f"tags.`{COPIED_FROM_TAG}` = '{run_id}'", max_results=1)
    if found:
        return found[0].info.run_id, False
    run = source.get_run(run_id)
    copy = target.create_run(experiment_id, start_time=run.info.start_time, run_name=run.info.run_name,
                             tags={**run.data.tags, COPIED_FROM_TAG: run_id})
    new_id = copy.info.run_id
    params = [Param(key, value) for key, value in sorted(run.data.params.items())]
    for start in range(0, len(params), 100):
        target.log_batch(new_id, params=params[start:start + 100])
    history = [m for key in sorted(run.data.metrics) for m in source.get_metric_history(run_id, key)]
    for start in range(0, len(history), BATCH):
        target.log_batch(new_id, metrics=history[start:start + BATCH])
    with tempfile.TemporaryDirectory() as folder:
        if source.list_artifacts(run_id):
            target.log_artifacts(new_id, source.download_artifacts(run_id, "", folder))
    target.set_terminated(new_id, run.info.status, end_time=run.info.end_time)
    return new_id, True


def move_runs(work_root: str | Path, source_uri: str, target_uri: str,
              experiment: str) -> tuple[list[Moved], list[Path]]:
    """Copy every finished run under ``work_root`` into ``target_uri`` and point its work dir at the copy;
    also the work dirs left out (not finished: they resume against the store they started in)."""
    from mlflow.exceptions import MlflowException

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    source, target = client(source_uri), client(target_uri)
    experiment_id = ensure_experiment(target_uri, experiment)
    moved, unfinished = [], []
    for id_file in sorted(Path(work_root).glob(f"**/{RUN_ID_FILE}")):
        work_dir, run_id = id_file.parent, id_file.read_text().strip()
        if not (work_dir / FINAL_METRICS).exists():
            unfinished.append(work_dir)
            continue
        try:
            target.get_run(run_id)  # moved before: the work dir names the copy already
            moved.append(Moved(work_dir, run_id, run_id, False))
            continue
        except MlflowException:
            pass
        new_id, copied = copy_run(source, target, run_id, experiment_id)
        partial = id_file.with_suffix(".partial")
        partial.write_text(new_id)
        partial.rename(id_file)  # a kill leaves the old id or the new one, never half of one
        moved.append(Moved(work_dir, run_id, new_id, copied))
    return moved, unfinished
