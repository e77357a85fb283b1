"""Does ONNX Runtime detect what PyTorch detects? Per-box differences and COCO AP of both on a
config's validation set (mmdet's test pipeline and ``test_step`` for PyTorch, batch 1)."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import mmcv
import numpy as np
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from torch import nn

from .onnx_runtime import Detections, OnnxDetector


def validation_loader(cfg: Config):
    cfg.test_dataloader.batch_size = 1
    with DefaultScope.overwrite_default_scope("mmdet"):  # as the Runner would, for the dataset types
        return Runner.build_dataloader(cfg.test_dataloader)


def pytorch_detections(detector: nn.Module, loader, pad_to: tuple[int, int] | None = None) -> dict[int, Detections]:
    """mmdet's own prediction (``pred_instances``: the config's NMS variant) per image id. mmdet pads
    each image to its pad divisor; ``pad_to`` (H, W) pads further with zeros after normalisation, as
    mmdet pads, to the exported graph's fixed input, so both runtimes see the same tensor."""
    import torch

    found = {}
    with torch.no_grad():
        for batch in loader:
            data = detector.data_preprocessor(batch, False)
            inputs, samples = data["inputs"], data["data_samples"]
            if pad_to is not None:
                height, width = inputs.shape[-2:]
                inputs = torch.nn.functional.pad(inputs, (0, pad_to[1] - width, 0, pad_to[0] - height))
                for sample in samples:
                    sample.set_metainfo({"batch_input_shape": tuple(pad_to), "pad_shape": tuple(pad_to)})
            for sample in detector.predict(inputs, samples):
                pred = sample.pred_instances
                found[sample.img_id] = Detections(pred.bboxes.cpu().numpy(), pred.scores.cpu().numpy(),
                                                  pred.labels.cpu().numpy())
    return found


def onnx_detections(onnx: OnnxDetector, dataset) -> dict[int, Detections]:
    infos = (dataset.get_data_info(index) for index in range(len(dataset)))  # data_list is serialised away
    return {info["img_id"]: onnx(mmcv.imread(info["img_path"])) for info in infos}


def match(reference: Detections, other: Detections) -> tuple[list[float], list[float], int]:
    """Greedy by reference score: each reference box to the unused same-label box nearest in the max
    coordinate difference. (box differences, score differences, unmatched reference boxes)."""
    used = np.zeros(len(other.boxes), dtype=bool)
    box_diffs, score_diffs, unmatched = [], [], 0
    for index in np.argsort(-reference.scores, kind="stable"):
        distance = np.abs(other.boxes - reference.boxes[index]).max(axis=1) if len(other.boxes) else np.zeros(0)
        distance[used | (other.labels != reference.labels[index])] = np.inf
        if not len(distance) or not np.isfinite(distance.min()):
            unmatched += 1
            continue
        best = int(distance.argmin())
        used[best] = True
        box_diffs.append(float(distance[best]))
        score_diffs.append(float(abs(other.scores[best] - reference.scores[index])))
    return box_diffs, score_diffs, unmatched


def coco_results(detections: dict[int, Detections], cat_ids: list[int]) -> list[dict]:
    return [{"image_id": image_id, "category_id": cat_ids[int(label)],
             "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)], "score": float(score)}
            for image_id, found in detections.items()
            for (x1, y1, x2, y2), score, label in zip(found.boxes, found.scores, found.labels, strict=True)]


def coco_ap(ann_file: str | Path, detections: dict[int, Detections], cat_ids: list[int]) -> float:
    """COCO box AP (IoU 0.50:0.95, in %), pycocotools' evaluation as mmdet's CocoMetric runs it."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    results = coco_results(detections, cat_ids)
    if not results:
        return 0.0
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(ann_file))
        evaluation = COCOeval(truth, truth.loadRes(results), "bbox")
        evaluation.params.imgIds = sorted(detections)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0]) * 100


def compare(cfg: Config, detector: nn.Module, onnx_path: str | Path, threads: int | None = None) -> dict:
    """Both runtimes on the config's validation images, the same input tensors: box and score
    differences, AP of each; and PyTorch's AP with mmdet's own padding (to the pad divisor)."""
    loader = validation_loader(cfg)
    dataset = loader.dataset
    onnx = OnnxDetector(onnx_path, threads)
    reference = pytorch_detections(detector, loader, pad_to=onnx.input_hw)
    exported = onnx_detections(onnx, dataset)
    box_diffs, score_diffs, unmatched = [], [], 0
    for image_id, found in reference.items():
        boxes, scores, missing = match(found, exported[image_id])
        box_diffs += boxes
        score_diffs += scores
        unmatched += missing
    ann_file = dataset.ann_file  # joined with data_root by mmengine's dataset
    return {
        "images": len(reference),
        "pytorch_boxes": sum(len(d.boxes) for d in reference.values()),
        "onnx_boxes": sum(len(d.boxes) for d in exported.values()),
        "unmatched": unmatched,
        "max_box_diff": max(box_diffs, default=0.0),
        "max_score_diff": max(score_diffs, default=0.0),
        "pytorch_ap": coco_ap(ann_file, reference, dataset.cat_ids),
        "pytorch_divisor_pad_ap": coco_ap(ann_file, pytorch_detections(detector, loader), dataset.cat_ids),
        "onnx_ap": coco_ap(ann_file, exported, dataset.cat_ids),
    }
