"""MLflow: one store for the whole DAG, one run per experiment, continued when a job resumes.

Training logs through mmengine's MLflow backend (``o2f.pipeline.mlflow_backend``); this module creates
the store, experiment and run up front (so parallel jobs never race to create them), remembers the
run in the work dir so a resumed job keeps writing into it (mlflow reads ``MLFLOW_RUN_ID``), and
records the outcome: FINISHED only when training finished, FAILED or KILLED with the reason as a tag.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import subprocess
from contextlib import contextmanager
from pathlib import Path

from ..errors import O2FError

RUN_ID_FILE = "mlflow_run_id"
RUN_TOKEN_FILE = "mlflow_run_token"  # written before the run exists: a retry finds a run it created
TOKEN_TAG = "o2f.work_dir_token"
FAILURE_TAG = "o2f.failure"  # why the job stopped (FAILED or KILLED)
FAILED_RUN_TAG = "o2f.failed_run"  # why a finished training counts as failed (o2f.failed_run's rule)
TRACKED_CONFIG_KEYS = ["model", "train_cfg", "optim_wrapper", "param_scheduler", "scale"]
# Assigner options renamed after runs had logged them (old name -> new name): Eq. 1's form and the
# one-to-many strategy were both ``mode``.
RENAMED_OPTIONS = {"assigner.mode": "assigner.combine", "aux_assigner.mode": "aux_assigner.strategy",
                   "early_assigner.mode": "early_assigner.strategy", "scale_name": "scale"}
# Options that change how a run computes, not what it trains (tests/test_training.py: the same weights): a run
# started under one value resumes under it (MLflow keeps a logged parameter), whatever the config says now.
SAME_TRAINING = {"train_cfg.type": {"EpochBasedTrainLoop", "PrefetchingEpochBasedTrainLoop"}}
prepared = {"run_id": None}  # the run prepare_run handed to this process (mlflow unsets MLFLOW_RUN_ID once read)


def client(tracking_uri: str):
    """An MlflowClient that fails fast, in one line, when the store cannot be reached."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    from mlflow.tracking import MlflowClient

    try:
        with sqlite_store_lock(tracking_uri):
            mlflow_client = MlflowClient(tracking_uri)  # a SQLite store is created here
            mlflow_client.search_experiments(max_results=1)
    except Exception as err:  # noqa: BLE001  (any failure here means the store is unusable)
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise O2FError(f"MLflow tracking store {tracking_uri} is unreachable ({reason}); start the server "
                       "or fix mlflow.tracking_uri in configs/pipeline.yaml") from err
    return mlflow_client


@contextmanager
def sqlite_store_lock(tracking_uri: str):
    """Hold an exclusive lock on a SQLite store's file while a client opens it: the first client creates
    and migrates the store, and two DAGs starting at once (``--nolock``) would both migrate it and one
    fail. ``flock`` leaves alone the POSIX locks SQLite takes, and SQLite reads an empty file as an empty
    database."""
    if not tracking_uri.startswith("sqlite:///"):
        yield
        return
    store = Path(tracking_uri[len("sqlite:///"):].split("?")[0])
    store.parent.mkdir(parents=True, exist_ok=True)
    with open(store, "a") as held:
        try:
            fcntl.flock(held, fcntl.LOCK_EX)
        except OSError:  # a file system without flock (some Lustre mounts): unlocked, as before
            pass
        yield


def ensure_experiment(tracking_uri: str, experiment: str) -> str:
    """Create the experiment once; return its id."""
    mlflow_client = client(tracking_uri)
    with sqlite_store_lock(tracking_uri):
        found = mlflow_client.get_experiment_by_name(experiment)
        return found.experiment_id if found else mlflow_client.create_experiment(experiment)


def tracked_params(cfg) -> dict[str, str]:
    """The parameters mmengine's backend logs for ``cfg``, as MLflow stores them (strings, truncated)."""
    from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH
    from mmengine.visualization import MLflowVisBackend

    tracked = {key: cfg[key] for key in TRACKED_CONFIG_KEYS}
    flat = MLflowVisBackend(save_dir="")._flatten(tracked)  # the backend's own flattening (needs no env)
    return {key: str(value)[:MAX_PARAM_VAL_LENGTH] for key, value in flat.items()}


def renamed_option(key: str) -> str:
    """A logged option's present name: a run started before a rename resumes under the new name."""
    for old, new in RENAMED_OPTIONS.items():
        if key == old or key.endswith(f".{old}"):
            return f"{key[:-len(old)]}{new}"
    return key


def same_training_options(tree):
    """(option, its node, leaf name, values that train alike) for each ``SAME_TRAINING`` option whose parent
    ``tree`` (a config or its dict) holds."""
    for key, alike in SAME_TRAINING.items():
        *parents, leaf = key.split(".")
        node = tree
        for parent in parents:
            node = node.get(parent) if hasattr(node, "get") else None
        if node is not None:
            yield key, node, leaf, alike


def keep_as_started(logged: dict[str, str], cfg) -> None:
    """Set each ``SAME_TRAINING`` option the run logged back to its logged value, where both train alike."""
    for key, node, leaf, alike in same_training_options(cfg):
        if logged.get(key) in alike and str(node.get(leaf)) in alike:
            node[leaf] = logged[key]


def one_training_form(tree: dict) -> dict:
    """``tree`` with each ``SAME_TRAINING`` option written one way, so configs that train alike digest alike."""
    for _, node, leaf, alike in same_training_options(tree):
        if node.get(leaf) in alike:
            node[leaf] = min(alike)
    return tree


def check_unchanged(logged: dict[str, str], cfg, work_dir: Path) -> None:
    """A rerun must train what the work dir's run logged: MLflow refuses changed parameters, and a
    checkpoint of one recipe resumed under another would mix the two."""
    wanted = tracked_params(cfg)
    now = {key: wanted.get(key, wanted.get(renamed_option(key), "(unset)")) for key in logged}
    changed = sorted(key for key in logged if logged[key] != now[key])
    if changed:
        shown = "; ".join(f"{key}: {logged[key]!r} -> {now[key]!r}"[:160] for key in changed[:3])
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        raise O2FError(f"{work_dir} was trained with other options ({shown}{more}); rerun with the options it "
                       "started with, use a new --work-dir, or start over here with --no-resume (the earlier "
                       "training is moved aside)")


def find_or_create_run(tracking_uri: str, experiment: str, work_dir: Path, run_name: str, tags: dict[str, str]):
    """The run of ``work_dir``: remembered in the work dir, or found by its token (created by a try that
    died before remembering it), or created now."""
    from mlflow.exceptions import MlflowException

    mlflow_client = client(tracking_uri)
    id_file, token_file = work_dir / RUN_ID_FILE, work_dir / RUN_TOKEN_FILE
    if id_file.exists():
        try:
            return mlflow_client.get_run(id_file.read_text().strip())
        except MlflowException as err:
            raise O2FError(f"{id_file} names a run that {tracking_uri} does not hold ({one_line(err)}); point "
                           f"--mlflow-uri at the store it was logged to, copy its runs there with `o2f mlflow-move "
                           f"--to {tracking_uri}`, or use a new --work-dir") from err
    work_dir.mkdir(parents=True, exist_ok=True)
    if not token_file.exists():
        token_file.write_text(secrets.token_hex(16))
    token = token_file.read_text().strip()
    experiment_id = ensure_experiment(tracking_uri, experiment)
    found = mlflow_client.search_runs([experiment_id], f"tags.`{TOKEN_TAG}` = '{token}'", max_results=1)
    return found[0] if found else mlflow_client.create_run(experiment_id, run_name=run_name,
                                                           tags={**tags, TOKEN_TAG: token})


def prepare_run(tracking_uri: str, experiment: str, work_dir: str | Path, run_name: str,
                tags: dict[str, str], cfg=None) -> str:
    """The run of this work dir, exported as ``MLFLOW_RUN_ID`` (from then on a failure is recorded in it,
    see ``recorded_outcome``) and remembered in the work dir; with ``cfg``, refuse changed options."""
    work_dir = Path(work_dir)
    run = find_or_create_run(tracking_uri, experiment, work_dir, run_name, tags)
    if cfg is not None:
        keep_as_started(run.data.params, cfg)
        check_unchanged(run.data.params, cfg, work_dir)
    os.environ["MLFLOW_RUN_ID"] = prepared["run_id"] = run.info.run_id
    id_file = work_dir / RUN_ID_FILE
    if not id_file.exists():
        partial = id_file.with_suffix(".partial")
        partial.write_text(run.info.run_id)
        partial.rename(id_file)
    return run.info.run_id


def one_line(err: BaseException) -> str:
    """An error as one line. An error raised in a data loader worker comes back with the worker's
    traceback in its message; its last line is the original error."""
    text = str(err).strip()
    if text.startswith("Caught ") and "Original Traceback" in text:
        text = text.splitlines()[-1].split(": ", 1)[-1]
    first = text.splitlines()[0] if text else ""
    says_it_all = isinstance(err, O2FError) or (isinstance(err, KeyboardInterrupt) and first)  # e.g. SIGTERM
    return first if says_it_all else f"{type(err).__name__}: {first}".rstrip(": ")


@contextmanager
def recorded_outcome(tracking_uri: str):
    """Mark the run prepared inside this block FAILED (KILLED when stopped) with the reason as a tag if
    the block raises; clear an earlier failure's tag if it succeeds (mmengine ends the run FINISHED)."""
    prepared["run_id"] = None  # set by prepare_run; a failure before it has no run to record in
    try:
        yield
    except BaseException as err:
        run_id = prepared["run_id"]
        if run_id:
            stopped = isinstance(err, KeyboardInterrupt | SystemExit)  # Ctrl-C, or SIGTERM (graceful_stop.Stopped)
            end_run(tracking_uri, run_id, "KILLED" if stopped else "FAILED", one_line(err))
        raise
    else:
        run_id = prepared["run_id"]
        if run_id and FAILURE_TAG in client(tracking_uri).get_run(run_id).data.tags:
            client(tracking_uri).delete_tag(run_id, FAILURE_TAG)


def end_run(tracking_uri: str, run_id: str, status: str, reason: str) -> None:
    """End the run with ``status`` (before mlflow's exit handler would call it FINISHED)."""
    import mlflow

    try:
        client(tracking_uri).set_tag(run_id, FAILURE_TAG, reason)
        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            mlflow.end_run(status)
        else:
            client(tracking_uri).set_terminated(run_id, status)
    except Exception as err:  # noqa: BLE001  (the training error matters more than the bookkeeping)
        print(f"o2f: warning: could not mark MLflow run {run_id} {status}: {one_line(err)}")


def tag_failed_run(tracking_uri: str, work_dir: Path) -> None:
    """Tag the finished run with the failed-run rule's reason, where its training hook found one."""
    import json

    from ..work_dir import FINAL_METRICS

    final, id_file = work_dir / FINAL_METRICS, work_dir / RUN_ID_FILE
    reason = json.loads(final.read_text()).get("failed") if final.exists() else None
    if reason and id_file.exists():
        client(tracking_uri).set_tag(id_file.read_text().strip(), FAILED_RUN_TAG, reason)


def vis_backend(tracking_uri: str, experiment: str, run_name: str, tags: dict[str, str]) -> dict:
    """The mmengine visualizer backend entry that logs this run's params, metrics and artifacts."""
    from . import mlflow_backend  # noqa: F401  (registers ResumableMLflowVisBackend with mmdet)

    return dict(type="ResumableMLflowVisBackend", save_dir="mlflow", exp_name=experiment, run_name=run_name,
                tags=tags, tracking_uri=tracking_uri, tracked_config_keys=TRACKED_CONFIG_KEYS,
                artifact_suffix=(".json", ".log", ".py"))


def git_commit(root: Path) -> str:
    """The commit a run or a report came from (its short hash; "unknown" outside a git checkout)."""
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"
