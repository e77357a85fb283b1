"""Short CPU trainings at the ``ci`` scale: the loss falls, and a killed run resumes where it stopped."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import Interrupt, KillAfterEpoch, Probe

pytest.importorskip("mmcv.ops")

import o2f.plugin  # noqa: E402,F401
from o2f.pipeline.config import load_config  # noqa: E402
from o2f.pipeline.train import build_runner  # noqa: E402

pytestmark = pytest.mark.slow  # every test here trains

FCOS = "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"


def fcos_ci(repo_root, **overrides):
    return load_config(repo_root / FCOS, "ci", overrides or None)


def test_training_loss_falls(repo_root, in_tmp_with_data):
    cfg = fcos_ci(repo_root, **{"train_cfg.max_epochs": 5, "param_scheduler.1.T_max": 5,
                                "param_scheduler.1.end": 5})
    runner = build_runner(cfg, in_tmp_with_data / "work", resume=False)
    runner.train()
    losses = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(losses) == 20  # 16 images, batch 4, 5 epochs
    assert losses[-4:].mean() < 0.8 * losses[:4].mean()
    assert "coco/nonms_bbox_mAP" in runner.message_hub.log_scalars or \
        "val/coco/nonms_bbox_mAP" in runner.message_hub.log_scalars


def test_killed_run_resumes_at_next_epoch_with_same_optimizer_state(repo_root, in_tmp_with_data):
    work = in_tmp_with_data / "work"
    first = build_runner(fcos_ci(repo_root), work, resume=True)
    first.register_hook(KillAfterEpoch(1))
    with pytest.raises(Interrupt):
        first.train()
    checkpoint = work / "epoch_1.pth"
    assert checkpoint.exists() and not (work / "epoch_2.pth").exists()

    saved = torch.load(checkpoint, map_location="cpu")  # torch's safe loader, o2f's allow-list
    probe = Probe()
    second = build_runner(fcos_ci(repo_root), work, resume=True)
    second.register_hook(probe)
    second.train()
    assert probe.start_epoch == 1 and probe.trained_epochs == [2]
    resumed, stored = probe.optimizer_state["state"], saved["optimizer"]["state"]
    assert resumed.keys() == stored.keys() and len(stored) > 0
    for key in stored:
        assert torch.equal(resumed[key]["exp_avg"], stored[key]["exp_avg"])
        assert resumed[key]["step"] == stored[key]["step"]
    assert (work / "epoch_2.pth").exists()


def test_two_process_launch_on_cpu(repo_root, in_tmp_with_data):
    """--gpus 2 starts torchrun; on CPU both ranks join over gloo and share the epoch's batches."""
    import subprocess
    import sys

    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{in_tmp_with_data / 'mlflow.db'}"
    cmd = [sys.executable, "-m", "o2f.pipeline.cli", "train", str(repo_root / FCOS), "--scale", "ci",
           "--work-dir", "work", "--gpus", "2", "--cfg-options", "train_cfg.max_epochs=1", "--mlflow-uri", uri]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    work = in_tmp_with_data / "work"
    assert sorted(p.name for p in work.glob("*.pth")) == ["epoch_1.pth"]
    # both ranks joined (mmengine reports the world size as "GPU number") and shared the epoch:
    # 16 images, 4 per rank and iteration, 2 ranks: 2 iterations an epoch
    assert "Distributed training: True" in output and "GPU number: 2" in output
    assert "Epoch(train) [1][2/2]" in output
    assert (work / "final_metrics.json").exists()
    runs = MlflowClient(uri).search_runs([MlflowClient(uri).get_experiment_by_name("o2f").experiment_id])
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"  # one run, not one per rank


def test_resumed_job_continues_its_mlflow_run(repo_root, in_tmp_with_data, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_RUN_ID", "")  # restored (unset) after the test; training sets it
    uri = f"sqlite:///{in_tmp_with_data / 'mlflow.db'}"
    tracking = dict(tracking_uri=uri, experiment="o2f", run_name="fcos-ci", tags={"scale": "ci"})
    work = in_tmp_with_data / "work"
    first = build_runner(fcos_ci(repo_root), work, resume=True, mlflow=dict(tracking))
    first.register_hook(KillAfterEpoch(1))
    with pytest.raises(Interrupt):
        first.train()
    mlflow.end_run()  # the killed process would have left its run open
    second = build_runner(fcos_ci(repo_root), work, resume=True, mlflow=dict(tracking))
    second.train()

    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(experiment_names=["o2f"], output_format="list")
    assert len(runs) == 1  # one run per experiment, continued, not a second one
    client = mlflow.tracking.MlflowClient(uri)
    losses = client.get_metric_history(runs[0].info.run_id, "loss")
    assert sorted(m.step for m in losses) == list(range(1, 9))  # iterations of the killed and the resumed part
    # epoch 1 was killed after its checkpoint, before its validation: the resumed run validates it first
    assert [m.step for m in client.get_metric_history(runs[0].info.run_id, "coco/nms_bbox_mAP")] == [1, 2]
    # the precision the run trained in (the hardware's choice under the ci scale's auto) is on record
    precision = (work / "precision").read_text().split()[0]
    assert precision in ("bf16", "fp32") and runs[0].data.tags["precision"] == precision
    assert json.loads((work / "final_metrics.json").read_text())["precision"] == precision


@pytest.mark.parametrize("config", [FCOS, "configs/o2f/o2f_swin-t_fpn_1x_coco.py"], ids=["fcos", "o2f-swin"])
def test_batches_loaded_on_a_thread_train_the_same_weights(repo_root, in_tmp_with_data, config):
    """The prefetching loop draws the loader's random numbers in the same order: with random resizing, crops,
    flips and colour jitter, two epochs end with every weight and every loss equal to the plain loop's; also
    where the model draws its own (Swin's drop path, from torch's generator, in the training thread)."""
    random_pipeline = [
        dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_bbox=True),
        dict(type="RandomResize", scale=(128, 128), ratio_range=(0.8, 1.25), keep_ratio=True),
        dict(type="RandomCrop", crop_size=(96, 96), allow_negative_crop=False),
        dict(type="RandomFlip", prob=0.5), dict(type="PhotoMetricDistortion"), dict(type="PackDetInputs")]
    trained = {}
    for loop in ("EpochBasedTrainLoop", "PrefetchingEpochBasedTrainLoop"):
        cfg = load_config(repo_root / config, "ci", {"train_cfg.type": loop,
                                                     "train_dataloader.dataset.dataset.pipeline": random_pipeline})
        runner = build_runner(cfg, in_tmp_with_data / loop, resume=False, seed=0)
        runner.train()
        assert type(runner.train_loop).__name__ == loop
        trained[loop] = (runner.model.state_dict(), runner.message_hub.get_scalar("train/loss").data[0])
    (plain, plain_losses), (threaded, threaded_losses) = trained.values()
    assert len(plain_losses) == 8 and (plain_losses == threaded_losses).all(), (plain_losses, threaded_losses)
    assert plain.keys() == threaded.keys()
    assert all(torch.equal(plain[key], threaded[key]) for key in plain)


def test_batch_augments_in_the_training_thread_turn_prefetching_off(repo_root, in_tmp_with_data):
    """mmdet's batch augments draw python's random numbers in the training thread, beside the loader's thread:
    the loop then loads inline, so the draws keep their order."""
    cfg = fcos_ci(repo_root)
    cfg.model.data_preprocessor.batch_augments = [
        dict(type="BatchSyncRandomResize", random_size_range=(96, 128), interval=1, size_divisor=32)]
    runner = build_runner(cfg, in_tmp_with_data / "augments", resume=False, seed=0)
    assert type(runner.train_loop).__name__ == "PrefetchingEpochBasedTrainLoop"
    assert not runner.train_loop.prefetches
    assert build_runner(fcos_ci(repo_root), in_tmp_with_data / "plain", resume=False, seed=0).train_loop.prefetches
