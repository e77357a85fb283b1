"""Faults and bad data never corrupt a run (ci scale): one training per work dir, exact resume after a
kill -9 anywhere, MLflow status that matches the outcome, and data errors in one line before training."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dag import SNAKEMAKE, activated_env, project_copy, snakemake
from killpoints import FaultHook
from mlflow.tracking import MlflowClient
from mmengine.runner import Runner

from o2f.engine.hooks import read_epoch_metrics
from o2f.engine.resume import complete, latest_checkpoint
from o2f.errors import O2FError
from o2f.pipeline.cli import main
from o2f.pipeline.tracking import FAILURE_TAG
from o2f.pipeline.work_dir_lock import LOCK_FILE, WorkDirLock, pid_alive
from o2f.work_dir import EPOCH_METRICS, FINAL_METRICS

pytest.importorskip("mmcv.ops")
# One xdist worker for the module: its tests share one reference training.
pytestmark = pytest.mark.xdist_group("reliability")

ROOT = Path(__file__).resolve().parent.parent
FCOS = str(ROOT / "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py")
CROWDHUMAN = str(ROOT / "configs/crowdhuman/o2f_r50_fpn_50e_crowdhuman.py")
KILLPOINTS = str(ROOT / "tests" / "killpoints.py")
TIMINGS = {"time", "data_time"}  # wall-clock figures (mmengine logs train and val ones under one name)


@pytest.fixture(scope="module")
def ci_dir(tmp_path_factory, synthetic_root, synthetic_odgt_root) -> Path:
    """A working directory with the ci data (read-only use) and one MLflow store."""
    root = tmp_path_factory.mktemp("reliability")
    (root / "data").mkdir()
    os.symlink(synthetic_root, root / "data" / "synthetic_shapes")
    os.symlink(synthetic_odgt_root, root / "data" / "synthetic_shapes_odgt")
    return root


def uri(root: Path) -> str:
    return f"sqlite:///{root / 'mlflow.db'}"


def train_args(root: Path, work: str, experiment: str, *extra: str) -> list[str]:
    return ["train", FCOS, "--scale", "ci", "--work-dir", str(root / work), "--seed", "0",
            "--mlflow-uri", uri(root), "--mlflow-experiment", experiment, *extra]


def o2f(root: Path, args: list[str], fault: str | None = None, wait: bool = True):
    """`o2f ...` in a fresh process on one thread, with an optional fault (tests/killpoints.py)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "O2F_FAULT": fault or ""}
    env.pop("MLFLOW_RUN_ID", None)
    cmd = [sys.executable, KILLPOINTS, *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=600)


def only_run(root: Path, experiment: str):
    client = MlflowClient(uri(root))
    runs = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    assert len(runs) == 1, [r.info.status for r in runs]
    return runs[0]


def histories(root: Path, run) -> dict[str, list[tuple[int, float]]]:
    client = MlflowClient(uri(root))
    return {key: sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, key))
            for key in run.data.metrics if key not in TIMINGS}


def validated_epochs(work: Path) -> list[int]:
    """Epochs in the order validation recorded them, repeats included."""
    return [json.loads(line)["epoch"] for line in (work / EPOCH_METRICS).read_text().splitlines()]


def one_line_error(err: str, *fragments: str) -> None:
    assert len(err.strip().splitlines()) == 1, err[-3000:]
    assert err.startswith("o2f: error: ")
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope="module")
def reference(ci_dir) -> Path:
    """An uninterrupted ci training (2 epochs, seed 0, one thread), logged to experiment 'reference'."""
    done = o2f(ci_dir, train_args(ci_dir, "reference", "reference"))
    assert done.returncode == 0, done.stderr[-3000:]
    return ci_dir / "reference"


@pytest.mark.slow
def test_killed_anywhere_resumes_exactly(ci_dir, reference):
    """kill -9 in a training step, then (after moving the work dir) halfway through writing a checkpoint,
    then in validation; the rerun ends where the uninterrupted run did, to the last digit."""
    first = o2f(ci_dir, train_args(ci_dir, "killed", "killed"), fault="step:6")  # epoch 2, iteration 2
    assert first.returncode == -signal.SIGKILL
    work = ci_dir / "moved"
    (ci_dir / "killed").rename(work)  # last_checkpoint holds the old absolute path
    args = train_args(ci_dir, "moved", "killed")

    assert o2f(ci_dir, args, fault="checkpoint:2").returncode == -signal.SIGKILL
    assert (work / "epoch_2.pth").exists() and not complete(work / "epoch_2.pth")  # cut short
    assert latest_checkpoint(work) == work / "epoch_1.pth"
    assert o2f(ci_dir, args, fault="val:2").returncode == -signal.SIGKILL
    assert validated_epochs(work) == [1]  # epoch 2 was saved, then killed in validation
    last = o2f(ci_dir, args)
    assert last.returncode == 0, last.stderr[-3000:]

    assert validated_epochs(work) == [1, 2]  # every epoch validated once
    assert read_epoch_metrics(work) == read_epoch_metrics(reference)  # same AP/AR, every digit
    final = json.loads((work / FINAL_METRICS).read_text())
    assert final["epochs"] == json.loads((reference / FINAL_METRICS).read_text())["epochs"]

    run, expected = only_run(ci_dir, "killed"), only_run(ci_dir, "reference")
    assert run.info.status == "FINISHED" and FAILURE_TAG not in run.data.tags
    logged, wanted = histories(ci_dir, run), histories(ci_dir, expected)
    assert logged == wanted  # each step once, with the uninterrupted run's value (losses, grad norm, lr, AP)
    assert [step for step, _ in logged["loss"]] == list(range(1, 9))
    assert [step for step, _ in logged["coco/nonms_bbox_mAP"]] == [1, 2]


@pytest.mark.slow
def test_a_full_disk_stops_in_one_line_and_the_rerun_resumes_exactly(ci_dir, reference):
    """The disk fills while epoch 2's checkpoint is written: one line naming the file's folder and the free
    space, the cut checkpoint removed, epoch 1's usable; after space is freed the rerun ends as the
    uninterrupted run did."""
    args = train_args(ci_dir, "full_disk", "full_disk")
    work = ci_dir / "full_disk"
    done = o2f(ci_dir, args, fault="nospace:2")
    errors = [line for line in done.stderr.splitlines() if line.startswith("o2f: error: ")]  # after training's warnings
    assert done.returncode == 2 and len(errors) == 1, done.stderr[-3000:]
    one_line_error(errors[0], f"no space left on the device writing {work} (", "MiB free there",
                   "the run resumes from epoch_1.pth")
    assert not (work / "epoch_2.pth").exists() and latest_checkpoint(work) == work / "epoch_1.pth"
    assert only_run(ci_dir, "full_disk").info.status == "FAILED"
    last = o2f(ci_dir, args)
    assert last.returncode == 0, last.stderr[-3000:]
    assert read_epoch_metrics(work) == read_epoch_metrics(reference)
    assert only_run(ci_dir, "full_disk").info.status == "FINISHED"


@pytest.mark.slow
def test_second_training_on_a_work_dir_stops_naming_the_holder(ci_dir, capsys, monkeypatch):
    """The second `o2f train` stops at the lock; SIGTERM (scancel) ends the first as KILLED; its lock file,
    left behind, does not block the next training."""
    long = ["--cfg-options", "train_cfg.max_epochs=50", "param_scheduler.1.T_max=50", "param_scheduler.1.end=50"]
    args = train_args(ci_dir, "busy", "busy", *long)
    holder = o2f(ci_dir, args, wait=False)
    client = MlflowClient(uri(ci_dir))
    try:
        deadline = time.monotonic() + 300
        while not (client.get_experiment_by_name("busy")
                   and (runs := client.search_runs([client.get_experiment_by_name("busy").experiment_id]))
                   and "loss" in runs[0].data.metrics):  # training has begun
            assert holder.poll() is None, holder.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the first training never started"
            time.sleep(0.5)
        monkeypatch.chdir(ci_dir)
        capsys.readouterr()  # (mlflow's notes on creating the store, above)
        assert main(args) == 2
        one_line_error(capsys.readouterr().err, "in use by another training",
                       f"pid {holder.pid} on host {socket.gethostname()}")
    finally:
        holder.send_signal(signal.SIGTERM)
        _, err = holder.communicate(timeout=300)
    assert holder.returncode == 2 and err.strip().splitlines()[-1].startswith("o2f: error: stopped by SIGTERM")
    run = only_run(ci_dir, "busy")
    assert run.info.status == "KILLED" and run.data.tags[FAILURE_TAG].startswith("stopped by SIGTERM")
    lock = ci_dir / "busy" / LOCK_FILE
    assert json.loads(lock.read_text())["pid"] == holder.pid  # left behind by the holder
    with WorkDirLock(ci_dir / "busy"):
        assert json.loads(lock.read_text())["pid"] == os.getpid()


@pytest.mark.slow
def test_training_orphaned_by_a_killed_snakemake_is_not_joined_and_its_output_kept(repo_root, tmp_path):
    """kill -9 of snakemake leaves its training running; the rerun (`rerun-incomplete`, the default
    profile) stops at the lock instead of training beside it, and once the orphan has finished a rerun
    keeps what it wrote."""
    work = project_copy(repo_root, tmp_path / "dag")
    target = "work_dirs/ci/o2f_r50_1x/seed0/final_metrics.json"
    args = [target, "--cores", "1", "--config", "scale=ci", "tables=[figure5]"]
    first = subprocess.Popen([*SNAKEMAKE, *args], cwd=work, env=activated_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    lock = work / Path(target).parent / LOCK_FILE
    deadline = time.monotonic() + 600
    while not (lock.exists() and lock.read_text()):
        assert first.poll() is None and time.monotonic() < deadline, "snakemake never started the training"
        time.sleep(0.5)
    first.kill()  # kill -9 snakemake
    first.wait()
    orphan = json.loads(lock.read_text())["pid"]
    os.kill(orphan, signal.SIGSTOP)  # still running: paused, so the rerun surely meets it
    try:
        unlocked = snakemake(work, *args, "--unlock", env=activated_env())  # snakemake's own lock, left by the kill
        assert unlocked.returncode == 0, unlocked.stderr[-3000:]
        again = snakemake(work, *args, env=activated_env())
        assert again.returncode != 0
        log = (work / "logs/ci/train/o2f_r50_1x_seed0.log").read_text()
        assert f"in use by another training (pid {orphan} on host {socket.gethostname()}" in log, \
            again.stderr[-3000:]
    finally:
        os.kill(orphan, signal.SIGCONT)
    while pid_alive(orphan):
        assert time.monotonic() < deadline, "the orphaned training did not finish"
        time.sleep(0.5)
    last = snakemake(work, *args, env=activated_env())
    assert last.returncode == 0, last.stderr[-3000:]
    assert [e["epoch"] for e in json.loads((work / target).read_text())["epochs"]] == [1, 2]
    assert validated_epochs(work / Path(target).parent) == [1, 2]
    run = only_run(work, "o2f")
    assert run.info.status == "FINISHED"
    assert [m.step for m in MlflowClient(uri(work)).get_metric_history(run.info.run_id, "loss")] == list(range(1, 9))


def test_lock_without_flock_checks_the_holder_pid_and_host(tmp_path, monkeypatch):
    def no_flock(fd, operation):
        raise OSError(37, "No locks available")  # ENOLCK, as on a Lustre mount without flock

    monkeypatch.setattr("fcntl.flock", no_flock)
    lock_file = tmp_path / LOCK_FILE
    gone = subprocess.Popen(["true"])
    while Path(f"/proc/{gone.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        time.sleep(0.01)
    assert not pid_alive(gone.pid)  # ended, not yet reaped: a zombie holds no work dir
    gone.wait()
    assert pid_alive(os.getpid()) and not pid_alive(gone.pid)
    host = socket.gethostname()
    lock_file.write_text(json.dumps({"pid": gone.pid, "host": host, "started": "earlier"}))
    with WorkDirLock(tmp_path):  # stale: its holder on this host is gone
        assert json.loads(lock_file.read_text())["pid"] == os.getpid()
        with pytest.raises(O2FError, match=re.escape(f"in use by another training (pid {os.getpid()} on host {host}")):
            WorkDirLock(tmp_path).acquire()
    assert not lock_file.exists()
    lock_file.write_text(json.dumps({"pid": 1, "host": "node-elsewhere", "started": "earlier"}))
    with pytest.raises(O2FError, match=f"on host node-elsewhere .*delete {re.escape(str(lock_file))}"):
        WorkDirLock(tmp_path).acquire()


@pytest.mark.slow
def test_rerun_of_a_finished_work_dir_restores_its_output_and_trains_nothing(ci_dir, reference, monkeypatch):
    """`snakemake --rerun-incomplete` deletes the output of a job it lost track of (one orphaned by a
    killed snakemake that then finished); the rerun writes it again from what the work dir holds."""
    saved = json.loads((reference / FINAL_METRICS).read_text())
    steps_before = histories(ci_dir, only_run(ci_dir, "reference"))
    (reference / FINAL_METRICS).unlink()
    monkeypatch.chdir(ci_dir)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    assert main(train_args(ci_dir, "reference", "reference")) == 0
    assert json.loads((reference / FINAL_METRICS).read_text())["epochs"] == saved["epochs"]
    run = only_run(ci_dir, "reference")
    assert run.info.status == "FINISHED" and histories(ci_dir, run) == steps_before


@pytest.mark.slow
def test_changed_option_or_seed_on_rerun_stops_in_one_line(ci_dir, reference, capsys, monkeypatch):
    monkeypatch.chdir(ci_dir)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    code = main(train_args(ci_dir, "reference", "reference", "--cfg-options", "optim_wrapper.optimizer.lr=0.5"))
    assert code == 2
    one_line_error(capsys.readouterr().err, "was trained with other options", "optim_wrapper.optimizer.lr",
                   "use a new --work-dir", "--no-resume")
    args = train_args(ci_dir, "reference", "reference")
    code = main([*args[:args.index("--seed") + 1], "1", *args[args.index("--seed") + 2:]])
    assert code == 2
    one_line_error(capsys.readouterr().err, "was trained with seed 0, not 1")
    assert only_run(ci_dir, "reference").info.status == "FINISHED"  # the run is left as it was


@pytest.mark.slow
def test_no_resume_moves_the_earlier_training_aside_and_starts_a_new_run(ci_dir, reference, capsys, monkeypatch):
    work = ci_dir / "restart"
    shutil.copytree(reference, work)
    monkeypatch.chdir(ci_dir)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    code = main(train_args(ci_dir, "restart", "restart", "--no-resume", "--cfg-options", "train_cfg.max_epochs=1",
                           "param_scheduler.1.T_max=1", "param_scheduler.1.end=1"))
    assert code == 0
    (aside,) = work.glob("previous-*")
    assert (aside / "epoch_2.pth").exists() and (aside / FINAL_METRICS).exists()
    assert validated_epochs(aside) == [1, 2] and validated_epochs(work) == [1]
    new_run = only_run(ci_dir, "restart")  # a run of its own; the earlier one is untouched
    assert new_run.info.status == "FINISHED" and new_run.info.run_id == (work / "mlflow_run_id").read_text()
    assert only_run(ci_dir, "reference").info.run_id == (aside / "mlflow_run_id").read_text()


@pytest.mark.slow
def test_failures_mark_the_run_failed_and_retries_continue_it(tmp_path, synthetic_root, capsys, monkeypatch):
    """A start that dies after creating its run, then an image that breaks mid-training: each leaves
    the one run FAILED with the reason; the fixed rerun continues that run to FINISHED."""
    shutil.copytree(synthetic_root, tmp_path / "data" / "synthetic_shapes")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_RUN_ID", raising=False)
    args = train_args(tmp_path, "work", "failing")
    (tmp_path / "work" / "mlflow_run_id.partial").mkdir(parents=True)  # the run id cannot be written
    with pytest.raises(IsADirectoryError):
        main(args)
    run = only_run(tmp_path, "failing")
    assert run.info.status == "FAILED" and "IsADirectoryError" in run.data.tags[FAILURE_TAG]
    (tmp_path / "work" / "mlflow_run_id.partial").rmdir()
    capsys.readouterr()  # (a traceback: a bug-like failure, not bad input)

    image = tmp_path / "data" / "synthetic_shapes" / "images" / "train_0003.png"
    train = Runner.train

    def train_with_fault(self):
        self.register_hook(FaultHook("corrupt", ["1", str(image)]))  # after epoch 1, before epoch 2 reads it
        return train(self)

    monkeypatch.setattr(Runner, "train", train_with_fault)
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert "data check train" in out and "data check val" in out
    one_line_error(err, f"image {image.relative_to(tmp_path)} could not be loaded", "rerun")
    run = only_run(tmp_path, "failing")
    assert run.info.status == "FAILED" and "train_0003.png could not be loaded" in run.data.tags[FAILURE_TAG]
    assert validated_epochs(tmp_path / "work") == [1]

    monkeypatch.setattr(Runner, "train", train)
    shutil.copy(synthetic_root / "images" / image.name, image)
    assert main(args) == 0
    run = only_run(tmp_path, "failing")
    assert run.info.status == "FINISHED" and FAILURE_TAG not in run.data.tags
    assert [step for step, _ in histories(tmp_path, run)["loss"]] == list(range(1, 9))
    boxes = len(json.loads((synthetic_root / "annotations" / "train.json").read_text())["annotations"])
    assert run.data.tags["data.train"].startswith("data check train") and f" {boxes} usable boxes" in out


# --- data checks before the first iteration ---


@pytest.fixture()
def own_data(tmp_path, synthetic_root, monkeypatch) -> Path:
    """A writable copy of the ci dataset in tmp_path/data, the working directory."""
    shutil.copytree(synthetic_root, tmp_path / "data" / "synthetic_shapes")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data" / "synthetic_shapes"


def train_fails(capsys, tmp_path, *fragments: str) -> None:
    code = main(train_args(tmp_path, "work", "data"))
    assert code == 2
    one_line_error(capsys.readouterr().err, *fragments)
    assert not (tmp_path / "work").exists() and not (tmp_path / "mlflow.db").exists()  # nothing touched


def test_missing_image_stops_before_training(own_data, tmp_path, capsys):
    (own_data / "images" / "val_0002.png").unlink()
    train_fails(capsys, tmp_path, "val_0002.png missing")


def test_corrupt_images_stop_before_training(own_data, tmp_path, capsys):
    (own_data / "images" / "train_0005.png").write_bytes(b"\x89PNG truncated")
    (own_data / "images" / "train_0009.png").write_bytes(b"")
    train_fails(capsys, tmp_path, "train_0005.png does not decode", "and 1 more unreadable images")


def test_empty_annotation_list_stops_before_training(own_data, tmp_path, capsys):
    ann_file = own_data / "annotations" / "train.json"
    ann_file.write_text(json.dumps({**json.loads(ann_file.read_text()), "annotations": []}))
    train_fails(capsys, tmp_path, "train.json lists no annotations")


def test_crowdhuman_tag_that_is_not_a_trained_class_stops(tmp_path, synthetic_odgt_root, capsys, monkeypatch):
    odgt = tmp_path / "data" / "synthetic_shapes_odgt"
    shutil.copytree(synthetic_odgt_root, odgt)
    lines = (odgt / "annotation_train.odgt").read_text().replace('"tag": "object"', '"tag": "person"')
    (odgt / "annotation_train.odgt").write_text(lines)
    monkeypatch.chdir(tmp_path)
    code = main(["train", CROWDHUMAN, "--scale", "ci", "--work-dir", str(tmp_path / "work")])
    assert code == 2
    boxes = lines.count('"tag": "person"')
    one_line_error(capsys.readouterr().err, "annotation_train.odgt has no usable box",
                   f"{boxes} of a class the config does not train (object)")


def test_data_check_counts_each_box_mmdet_leaves_out(own_data, tmp_path):
    """Degenerate boxes, unknown category ids and classes the config does not train: counted by the
    same rules mmdet's CocoDataset applies, checked against the dataset mmdet builds."""
    from mmdet.registry import DATASETS

    import o2f.plugin  # noqa: F401
    from o2f.pipeline.config import check_datasets, load_config, loader_datasets

    ann_file = own_data / "annotations" / "train.json"
    coco = json.loads(ann_file.read_text())
    extra = [dict(bbox=[5, 5, 0, 9]), dict(bbox=[5, 5, -3, 9]), dict(bbox=[200, 5, 10, 9]),
             dict(bbox=[5, 5, 10, 9], category_id=99)]
    for number, ann in enumerate(extra):
        coco["annotations"].append({"id": 1000 + number, "image_id": 1, "category_id": 1, "area": 50.0,
                                    "iscrowd": 0, **ann})
    ann_file.write_text(json.dumps(coco))
    ellipses = sum(a["category_id"] == 2 for a in coco["annotations"])
    rectangles = sum(a["category_id"] == 1 for a in coco["annotations"]) - 3  # less the 3 degenerate ones
    classes = {"train_dataloader.dataset.dataset.metainfo.classes": ("rectangle",)}
    cfg = load_config(FCOS, "ci", classes)

    line = check_datasets(cfg)["train"]
    assert f"{rectangles} usable boxes" in line
    assert f"left out: 3 degenerate (width or height < 1, or outside the image), 1 with a category id not in " \
           f"'categories', {ellipses} of a class the config does not train (rectangle)" in line
    dataset = DATASETS.build({**loader_datasets(cfg)[0][1], "filter_cfg": None, "pipeline": []})
    kept = sum(1 for i in range(len(dataset)) for inst in dataset.get_data_info(i)["instances"]
               if not inst["ignore_flag"])
    assert kept == rectangles  # what mmdet trains on is what the line says


def test_readme_server_recipes_bind_safely():
    """Every `mlflow server` the README shows listens on loopback or asks for a login."""
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"bin/mlflow server(?:[^\n]*\\\n)*[^\n]*", text)
    assert commands
    for command in commands:
        host = re.search(r"--host (\S+)", command)
        assert "--app-name basic-auth" in command or (host and host.group(1) in ("127.0.0.1", "localhost")), command


def test_a_run_logged_under_an_option_s_old_name_resumes_under_its_new_name(tmp_path):
    """Eq. 1's form was the assigner's ``mode`` and is ``combine`` now: a run that logged
    ``mode='multiply'`` goes on under ``combine='multiply'``, and stops in one line under ``'add'``."""
    from mmengine.config import Config

    from o2f.pipeline.tracking import check_unchanged, tracked_params

    def recipe(**assigner):
        return Config(dict(model=dict(train_cfg=dict(assigner=dict(type="OneToFewAssigner", **assigner),
                                                     aux_assigner=dict(type="OneToManyAssigner", strategy="atss"))),
                           train_cfg=dict(max_epochs=12), optim_wrapper=dict(type="OptimWrapper"),
                           param_scheduler=[], scale="demo"))

    logged = tracked_params(recipe(mode="multiply"))
    logged["model.train_cfg.aux_assigner.mode"] = logged.pop("model.train_cfg.aux_assigner.strategy")
    check_unchanged(logged, recipe(combine="multiply"), tmp_path)
    with pytest.raises(O2FError, match=r"other options \(model\.train_cfg\.assigner\.mode: 'multiply' -> 'add'\)"):
        check_unchanged(logged, recipe(combine="add"), tmp_path)


def test_a_run_started_under_the_plain_loop_resumes_under_it(tmp_path):
    """The prefetching loop trains what mmengine's plain loop trains: a run that logged the plain loop keeps
    it when resumed under a config that now asks for the other (and so passes the check); any other loop
    type is a changed option."""
    from mmengine.config import Config

    from o2f.pipeline.tracking import check_unchanged, keep_as_started, tracked_params

    def recipe(loop):
        return Config(dict(model=dict(type="FCOS"), train_cfg=dict(type=loop, max_epochs=12),
                           optim_wrapper=dict(type="OptimWrapper"), param_scheduler=[], scale="demo"))

    logged = tracked_params(recipe("EpochBasedTrainLoop"))
    now = recipe("PrefetchingEpochBasedTrainLoop")
    keep_as_started(logged, now)
    assert now.train_cfg.type == "EpochBasedTrainLoop"
    check_unchanged(logged, now, tmp_path)
    other = recipe("IterBasedTrainLoop")
    keep_as_started(logged, other)
    with pytest.raises(O2FError, match="train_cfg.type: 'EpochBasedTrainLoop' -> 'IterBasedTrainLoop'"):
        check_unchanged(logged, other, tmp_path)


def test_a_work_dir_whose_run_the_store_lacks_stops_naming_the_move(tmp_path):
    """A finished campaign pointed at another store without moving it: one line that names `o2f mlflow-move`."""
    from o2f.pipeline.tracking import RUN_ID_FILE, find_or_create_run

    work = tmp_path / "work"
    work.mkdir()
    (work / RUN_ID_FILE).write_text("0" * 32)
    with pytest.raises(O2FError) as err:
        find_or_create_run(uri(tmp_path), "o2f", work, "run", {})
    assert "\n" not in str(err.value)
    assert f"names a run that {uri(tmp_path)} does not hold" in str(err.value)
    assert f"`o2f mlflow-move --to {uri(tmp_path)}`" in str(err.value)
