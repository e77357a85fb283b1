"""Hooks that carry the training epoch into the model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmdet.structures.bbox import get_box_tensor
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.structures import InstanceData

from ..failed_run import failed_run
from ..work_dir import DETECTIONS, EPOCH_LOSSES, EPOCH_METRICS, FINAL_METRICS, SCORE_MAPS
from .device import device_name
from .precision import recorded_precision


@HOOKS.register_module()
class EpochToHeadHook(Hook):
    """Before each training epoch, call ``bbox_head.set_epoch(epoch, max_epochs)``; before each iteration
    ``bbox_head.set_progress(iteration / max_iterations)`` where the head has it.

    Epoch-dependent losses (one-to-few's T of Eq. 3, Hybrid-Epoch's weight switch) read it; a resumed
    run restores ``runner.epoch`` before this hook fires, so the schedule continues where it was.
    """

    priority = "NORMAL"

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model.bbox_head.set_epoch(runner.epoch, runner.max_epochs)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        """The training's progress (ProgLoss's per-iteration weights), from the runner's own iteration, so
        a resumed run continues the schedule."""
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if hasattr(model.bbox_head, "set_progress"):
            model.bbox_head.set_progress(runner.iter / max(runner.max_iters, 1))


@HOOKS.register_module()
class EpochMetricsHook(Hook):
    """Append each validation's metrics to ``epoch_metrics.jsonl`` and each training epoch's mean losses to
    ``epoch_losses.jsonl``; have the metric write each validation's detections into ``detections/``;
    write ``final_metrics.json`` at the end.

    The report and the DAG read these files: one line per epoch (a resumed run re-validating an epoch
    overrides the earlier line), the detections from which a claim's interval resamples test images, and
    a final file that appears only when training finished.
    """

    priority = "LOW"

    def before_train_epoch(self, runner) -> None:
        self.loss_sums: dict[str, float] = {}
        self.iterations = 0

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        for key, value in (outputs or {}).items():
            if key.startswith("loss"):
                value = value.detach() if isinstance(value, torch.Tensor) else value
                self.loss_sums[key] = self.loss_sums.get(key, 0.0) + float(value)
        self.iterations += 1

    def after_train_epoch(self, runner) -> None:
        if runner.rank == 0 and self.iterations:
            means = {key: total / self.iterations for key, total in self.loss_sums.items()}
            append_line(Path(runner.work_dir) / EPOCH_LOSSES, {"epoch": runner.epoch + 1, **means})

    def before_val_epoch(self, runner) -> None:
        folder = Path(runner.work_dir) / DETECTIONS
        folder.mkdir(exist_ok=True)
        for metric in runner.val_evaluator.metrics:
            if hasattr(metric, "detections_prefix"):
                metric.detections_prefix = str(folder / f"epoch_{runner.epoch}") if runner.rank == 0 else None

    def after_val_epoch(self, runner, metrics=None) -> None:
        if metrics and runner.rank == 0:
            append_line(Path(runner.work_dir) / EPOCH_METRICS, {"epoch": runner.epoch, **metrics})

    def after_train(self, runner) -> None:
        if runner.rank == 0:
            epochs = read_epoch_metrics(runner.work_dir)
            losses = read_epoch_metrics(runner.work_dir, EPOCH_LOSSES)
            final = {"epochs": epochs, "final": epochs[-1] if epochs else {}, "device": device_name(),
                     "precision": recorded_precision(runner.work_dir), "losses": losses,
                     "failed": failed_run(losses, 0.0, [], loss_weight=box_loss_weight(runner.cfg))}
            tmp = Path(runner.work_dir) / (FINAL_METRICS + ".partial")
            tmp.write_text(json.dumps(final, indent=1))
            tmp.rename(Path(runner.work_dir) / FINAL_METRICS)


def box_loss_weight(cfg) -> float:
    """The box loss's weight: its degenerate value is the weight times GIoU's (o2f's head weighs it 2.0)."""
    return float(cfg.model.get("bbox_head", {}).get("loss_bbox", {}).get("loss_weight", 1.0))


def append_line(path: Path, entry: dict) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


def read_epoch_metrics(work_dir: str | Path, name: str = EPOCH_METRICS) -> list[dict]:
    """Per-epoch metrics (or losses) of a work dir, one entry per epoch (the last written), in epoch order."""
    path = Path(work_dir) / name
    by_epoch = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                by_epoch[entry["epoch"]] = entry
    return [by_epoch[e] for e in sorted(by_epoch)]



@HOOKS.register_module()
class ScoreMapHook(Hook):
    """Save the joint score and the assigned labels of one validation image per FPN level, after
    the first and the last epoch (Figure 6: dense early, sparse late).

    The image's path, its objects' boxes (in network-input pixels), the scale factor and each level's
    stride travel with the maps, so the figure can draw the image and crop the maps around objects.
    """

    priority = "LOW"

    def after_train_epoch(self, runner) -> None:
        if runner.rank != 0 or runner.epoch not in (0, runner.max_epochs - 1):
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        head = model.bbox_head
        data = model.data_preprocessor(pseudo_collate([runner.val_loop.dataloader.dataset[0]]), False)
        sample = data["data_samples"][0]
        sw, sh = sample.metainfo["scale_factor"]
        gt = InstanceData(bboxes=get_box_tensor(sample.gt_instances.bboxes) * torch.tensor([sw, sh, sw, sh]),
                          labels=sample.gt_instances.labels)
        model.eval()
        with torch.no_grad():
            cls_scores, bbox_preds, objectnesses = head(model.extract_feat(data["inputs"]))
            cls, obj, boxes, priors = head.flatten(cls_scores, bbox_preds, objectnesses)
            joint = cls.sigmoid() * obj.sigmoid()[..., None]
            labels, targets, _, _ = head.get_targets_single(priors, joint[0], boxes[0], gt.to(joint.device))
        model.train()
        sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        counts = [h * w for h, w in sizes]
        arrays = {}
        for level, (score, label, size) in enumerate(zip(joint[0].amax(-1).split(counts),
                                                       torch.where(labels >= 0, targets, 0).split(counts),
                                                       sizes, strict=True)):
            arrays[f"score_{level}"] = score.reshape(size).cpu().numpy()
            arrays[f"label_{level}"] = label.reshape(size).cpu().numpy()
        out = Path(runner.work_dir) / SCORE_MAPS
        out.mkdir(exist_ok=True)
        np.savez_compressed(out / f"epoch_{runner.epoch + 1}.npz", temperature=head.temperature,
                            img_path=np.array(sample.metainfo["img_path"]), scale_factor=np.array([sw, sh]),
                            gt_bboxes=gt.bboxes.cpu().numpy(), strides=np.array(head.strides[:len(sizes)]),
                            **arrays)
