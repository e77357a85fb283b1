"""The cluster's MLflow: the tiny DAG logs into an `mlflow server` (SQLite backend) with parallel jobs, and
DAGs starting at once share a new SQLite store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dag import VENV_BIN, project_copy, snakemake

FIGURE5_EXPERIMENTS = ["o2f_r50_1x", "poto_r50_1x"]  # two trainings, run side by side on 2 cores


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.fixture()
def mlflow_server(tmp_path):
    """`mlflow server` on 127.0.0.1 with a SQLite backend and one worker; stopped afterwards."""
    url = f"http://127.0.0.1:{free_port()}"
    root = tmp_path / "server"
    root.mkdir()
    cmd = [str(Path(VENV_BIN) / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
           "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1",
           "--port", url.rsplit(":", 1)[1], "--workers", "1"]
    with open(root / "server.log", "w") as log:
        server = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not healthy(url):
            assert server.poll() is None, (root / "server.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "mlflow server did not answer /health in 120 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server and the workers it started
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.slow
def test_tiny_dag_logs_every_run_and_epoch_into_a_tracking_server(mlflow_server, repo_root, tmp_path):
    from mlflow.tracking import MlflowClient

    work = project_copy(repo_root, tmp_path / "dag")
    done = snakemake(work, "--cores", "2", "--config", "scale=ci", "tables=[figure5]",
                     f"mlflow={{tracking_uri: '{mlflow_server}', experiment: o2f-cluster}}")
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (work / "mlflow.db").exists()  # nothing went to the default local store

    client = MlflowClient(mlflow_server)
    experiment = client.get_experiment_by_name("o2f-cluster")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(run.data.tags["experiment"] for run in runs) == FIGURE5_EXPERIMENTS
    # the two training jobs ran, and logged, at the same time
    assert max(run.info.start_time for run in runs) < min(run.info.end_time for run in runs)
    for run in runs:
        assert run.info.status == "FINISHED"
        for key in ("coco/nms_bbox_mAP", "coco/nonms_bbox_mAP", "coco/nonms_bbox_AR_100"):
            assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1, 2]  # per epoch
        assert len(client.get_metric_history(run.info.run_id, "loss")) > 0  # per iteration
        assert "final_metrics.json" in {a.path for a in client.list_artifacts(run.info.run_id)}


def test_dags_starting_at_once_share_a_new_sqlite_store(tmp_path):
    """Three `o2f mlflow-init` (each DAG's start) on one new SQLite store at the same instant: the first
    creates and migrates it, the others wait for it; all three get the one experiment."""
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ready = tmp_path / "ready"
    ready.mkdir()
    dag_start = f"""
import os, time
import mlflow
from o2f.pipeline.cli import main
open(os.path.join({str(ready)!r}, str(os.getpid())), "w").close()
while len(os.listdir({str(ready)!r})) < 3:  # imported: wait for the other two, then open the store at once
    time.sleep(0.01)
raise SystemExit(main(["mlflow-init", "--uri", {store!r}, "--experiment", "o2f"]))
"""
    dags = [subprocess.Popen([sys.executable, "-c", dag_start], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True) for _ in range(3)]
    outputs = [dag.communicate(timeout=120)[0] for dag in dags]
    assert [dag.returncode for dag in dags] == [0, 0, 0], outputs
    assert all("experiment 'o2f' (id 1) ready" in out for out in outputs), outputs
