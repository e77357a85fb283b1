"""One forward pass, two evaluations: duplicates hurt the NMS-free AP and NMS restores it."""

from __future__ import annotations

import json

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

pytest.importorskip("mmcv.ops")

from o2f.evaluation import DualNMSCocoMetric  # noqa: E402
from o2f.models.dual_postprocess import NMS_FIELD, NO_NMS_FIELD  # noqa: E402
from o2f.models.fcos_head import DualNMSFCOSHead  # noqa: E402

GT_BOXES = [[10, 10, 50, 50], [100, 10, 140, 50], [10, 100, 50, 140]]  # x1, y1, x2, y2


def write_gt(path):
    anns = [{"id": i + 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 1600,
             "bbox": [x1, y1, x2 - x1, y2 - y1]} for i, (x1, y1, x2, y2) in enumerate(GT_BOXES)]
    path.write_text(json.dumps({"images": [{"id": 1, "width": 200, "height": 200, "file_name": "a.png"}],
                                "annotations": anns, "categories": [{"id": 1, "name": "tree"}]}))


def predictions_with_duplicates() -> InstanceData:
    """Each object found once, plus a 4 px-shifted duplicate (IoU 0.82) ranked above the next object."""
    boxes, scores = [], []
    for i, (x1, y1, x2, y2) in enumerate(GT_BOXES):
        boxes += [[x1, y1, x2, y2], [x1 + 4, y1, x2 + 4, y2]]
        scores += [0.9 - 0.1 * i, 0.85 - 0.1 * i]
    return InstanceData(bboxes=torch.tensor(boxes, dtype=torch.float32), scores=torch.tensor(scores),
                        labels=torch.zeros(len(scores), dtype=torch.long))


def small_head(nms_free: bool) -> DualNMSFCOSHead:
    test_cfg = dict(nms_pre=1000, score_thr=0.05, nms=dict(type="nms", iou_threshold=0.6),
                    max_per_img=100, nms_free=nms_free)
    return DualNMSFCOSHead(num_classes=1, in_channels=8, feat_channels=8, stacked_convs=1, test_cfg=test_cfg,
                           norm_cfg=dict(type="GN", num_groups=4, requires_grad=True))


def test_post_process_returns_both_variants():
    head = small_head(nms_free=True)
    result = head._bbox_post_process(predictions_with_duplicates(), ConfigDict(head.test_cfg))
    assert len(result) == 6
    assert result.scores.tolist() == sorted(result.scores.tolist(), reverse=True)
    assert len(result.metainfo["with_nms"]) == 3  # each duplicate suppressed at IoU 0.6


def test_candidates_are_kept_by_one_head_and_only_within():
    """The speed benchmark's switch is per head and undone on exit, an exception included."""
    head, other = small_head(nms_free=True), small_head(nms_free=True)
    cfg = ConfigDict(head.test_cfg)
    with pytest.raises(RuntimeError, match="interrupted"):
        with head.keeping_candidates():
            kept = head._bbox_post_process(predictions_with_duplicates(), cfg)
            assert len(kept.metainfo["candidates"]) == 6  # all six, before NMS and top-k
            assert "candidates" not in other._bbox_post_process(predictions_with_duplicates(), cfg).metainfo
            raise RuntimeError("interrupted")
    assert "candidates" not in head._bbox_post_process(predictions_with_duplicates(), cfg).metainfo


def test_duplicates_lower_nms_free_ap_and_nms_restores_it(tmp_path):
    write_gt(tmp_path / "gt.json")
    head = small_head(nms_free=True)
    post = head._bbox_post_process(predictions_with_duplicates(), ConfigDict(head.test_cfg))
    sample = {"img_id": 1, "ori_shape": (200, 200),
              NO_NMS_FIELD: InstanceData(**dict(post.items())), NMS_FIELD: post.metainfo["with_nms"]}
    metric = DualNMSCocoMetric(ann_file=str(tmp_path / "gt.json"), metric="bbox")
    metric.dataset_meta = {"classes": ("tree",)}
    metric.process({}, [sample])
    scores = metric.evaluate(size=1)
    assert scores["coco/nms_bbox_mAP"] == pytest.approx(1.0)
    # Precision 1, 2/3, 3/5 at recall 1/3, 2/3, 1: interpolated AP = (101 points) well below 1.
    assert 0.7 < scores["coco/nonms_bbox_mAP"] < 0.85
    assert scores["coco/nonms_bbox_AR_100"] == pytest.approx(1.0)
    assert {f"coco/{v}_bbox_{k}" for v in ("nms", "nonms") for k in ("mAP", "mAP_50", "mAP_75", "AR_100")} \
        <= scores.keys()


def test_metric_refuses_samples_without_both_variants(tmp_path):
    write_gt(tmp_path / "gt.json")
    metric = DualNMSCocoMetric(ann_file=str(tmp_path / "gt.json"))
    with pytest.raises(KeyError, match="DualPostProcessMixin"):
        metric.process({}, [{"img_id": 1, "ori_shape": (200, 200), "pred_instances": InstanceData()}])
