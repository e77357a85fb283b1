"""MLflow: one store for the whole DAG, one run per experiment, continued when a job resumes.

Training logs through mmengine's ``MLflowVisBackend``; this module only creates the store,
experiment and run up front (so parallel jobs never race to create them) and remembers the run id
in the work dir, so a resumed job keeps writing into the same run (mlflow reads ``MLFLOW_RUN_ID``).
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import O2FError

RUN_ID_FILE = "mlflow_run_id"
TRACKED_CONFIG_KEYS = ["model", "train_cfg", "optim_wrapper", "param_scheduler", "scale_name"]


def client(tracking_uri: str):
    """An MlflowClient that fails fast, in one line, when the store cannot be reached."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    from mlflow.tracking import MlflowClient

    try:
        mlflow_client = MlflowClient(tracking_uri)  # a SQLite store is created here
        mlflow_client.search_experiments(max_results=1)
    except Exception as err:  # noqa: BLE001  (any failure here means the store is unusable)
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise O2FError(f"MLflow tracking store {tracking_uri} is unreachable ({reason}); start the server "
                       "or fix mlflow.tracking_uri in configs/pipeline.yaml") from err
    return mlflow_client


def ensure_experiment(tracking_uri: str, experiment: str) -> str:
    """Create the experiment once; return its id."""
    mlflow_client = client(tracking_uri)
    found = mlflow_client.get_experiment_by_name(experiment)
    return found.experiment_id if found else mlflow_client.create_experiment(experiment)


def prepare_run(tracking_uri: str, experiment: str, work_dir: str | Path, run_name: str,
                tags: dict[str, str]) -> str:
    """The run of this work dir (created on first use), exported as ``MLFLOW_RUN_ID``."""
    id_file = Path(work_dir) / RUN_ID_FILE
    mlflow_client = client(tracking_uri)
    if id_file.exists():
        run_id = id_file.read_text().strip()
    else:
        experiment_id = ensure_experiment(tracking_uri, experiment)
        run_id = mlflow_client.create_run(experiment_id, run_name=run_name, tags=tags).info.run_id
        id_file.parent.mkdir(parents=True, exist_ok=True)
        id_file.write_text(run_id)
    os.environ["MLFLOW_RUN_ID"] = run_id
    return run_id


def vis_backend(tracking_uri: str, experiment: str, run_name: str, tags: dict[str, str]) -> dict:
    """The mmengine visualizer backend entry that logs this run's params, metrics and artifacts."""
    return dict(type="MLflowVisBackend", save_dir="mlflow", exp_name=experiment, run_name=run_name,
                tags=tags, tracking_uri=tracking_uri, tracked_config_keys=TRACKED_CONFIG_KEYS,
                artifact_suffix=(".json", ".log", ".py"))
