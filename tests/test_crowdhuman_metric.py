"""CrowdHuman AP, mMR and recall on a hand-made set, against values computed by hand from the
metric's definition (Caltech matching at IoU 0.5; mMR = exp(mean log miss rate) at 9 FPPI points)."""

from __future__ import annotations

import math

import pytest
import torch

from o2f.evaluation.dual_nms_metric import DualNMSCrowdHumanMetric
from o2f.pipeline.data.crowdhuman import write_odgt


def person(box, ignore=0):
    x1, y1, x2, y2 = box
    fbox = [x1, y1, x2 - x1, y2 - y1]
    return {"tag": "mask" if ignore else "person", "fbox": fbox, "vbox": fbox, "hbox": fbox,
            "extra": {"ignore": ignore}}


IGNORE_REGION = [50, 50, 100, 100]
GT = {"A": [person([0, 0, 10, 10]), person([20, 0, 30, 10])],
      "B": [person([0, 0, 10, 10]), person([30, 30, 40, 40])]}
# (box, score): a hit on each of A's people, a duplicate in A, a hit in B, one inside B's ignore region
DETECTIONS = {"A": [([0, 0, 10, 10], 0.9), ([1, 1, 11, 11], 0.8), ([20, 0, 30, 10], 0.5)],
              "B": [([0, 0, 10, 10], 0.7), ([60, 60, 80, 80], 0.6)]}
REFS = 9


def evaluate(tmp_path, with_ignore_region: bool) -> dict:
    records = [{"ID": "A", "gtboxes": GT["A"]},
               {"ID": "B", "gtboxes": GT["B"] + ([person(IGNORE_REGION, ignore=1)] if with_ignore_region else [])}]
    write_odgt(records, tmp_path / "val.odgt")
    metric = DualNMSCrowdHumanMetric(ann_file=str(tmp_path / "val.odgt"))
    metric.dataset_meta = {"classes": ("person",)}
    for image_id, found in DETECTIONS.items():
        boxes = torch.tensor([box for box, _ in found], dtype=torch.float32)
        scores = torch.tensor([score for _, score in found])
        predictions = {"bboxes": boxes, "scores": scores, "labels": torch.zeros(len(found), dtype=torch.long)}
        # the NMS variant drops the duplicate (the only box overlapping another one)
        keep = [0, 2] if image_id == "A" else [0, 1]
        nms = {k: v[keep] for k, v in predictions.items()}
        metric.process({}, [{"img_id": image_id, "ori_shape": (100, 120),
                             "pred_instances_nonms": predictions, "pred_instances_nms": nms}])
    return metric.compute_metrics(metric.results)


def log_average(miss_rates: list[float]) -> float:
    assert len(miss_rates) == REFS
    return math.exp(sum(math.log(m) for m in miss_rates) / REFS)


def test_mmr_ap_and_recall_match_the_hand_computation(tmp_path):
    scores = evaluate(tmp_path, with_ignore_region=True)
    # Without NMS, by score: TP, FP (duplicate), TP, ignored (inside the region), TP; 4 people, 2 images.
    # FPPI after each counted detection: 0, .5, .5, .5; miss rate: 3/4, 3/4, 2/4, 1/4.
    # The 7 reference points <= 0.3162 first reach FPPI >= ref at the duplicate (miss 3/4); 0.5623
    # and 1.0 are never reached, so they take the last point (miss 1/4).
    assert scores["nonms_mMR"] == pytest.approx(log_average([0.75] * 7 + [0.25] * 2), abs=1e-4)
    assert scores["nonms_Recall"] == pytest.approx(0.75)
    # AP: trapezoids over (recall, precision) = (.25, 1), (.25, .5), (.5, 2/3), (.75, 3/4)
    ap = 0.25 * (0.5 + 2 / 3) / 2 + 0.25 * (2 / 3 + 0.75) / 2
    assert scores["nonms_mAP"] == pytest.approx(ap, abs=1e-4)
    # With NMS the duplicate is gone: TP, TP, ignored, TP -> no false positive at all, miss 1/4 everywhere
    assert scores["nms_mMR"] == pytest.approx(0.25, abs=1e-4)
    assert scores["nms_Recall"] == pytest.approx(0.75)


def test_ignore_regions_change_the_result(tmp_path):
    ignored = evaluate(tmp_path, with_ignore_region=True)
    counted = evaluate(tmp_path, with_ignore_region=False)
    # Without the region the box at (60, 60) is a false positive: TP, FP, TP, FP, TP; FPPI 0, .5, .5, 1, 1;
    # miss 3/4, 3/4, 2/4, 2/4, 1/4 -> refs <= .3162 take 3/4, .5623 and 1.0 reach FPPI 1 at miss 2/4.
    assert counted["nonms_mMR"] == pytest.approx(log_average([0.75] * 7 + [0.5] * 2), abs=1e-4)
    assert counted["nonms_mMR"] > ignored["nonms_mMR"]
    assert counted["nonms_mAP"] < ignored["nonms_mAP"]


def test_the_tag_is_the_dataset_class(tmp_path):
    """A one-class dataset other than people (the demo's trees) is evaluated the same way."""
    records = [{"ID": "A", "gtboxes": [{**person([0, 0, 10, 10]), "tag": "tree"}]}]
    write_odgt(records, tmp_path / "val.odgt")
    metric = DualNMSCrowdHumanMetric(ann_file=str(tmp_path / "val.odgt"))
    metric.dataset_meta = {"classes": ("tree",)}
    hit = {"bboxes": torch.tensor([[0.0, 0, 10, 10]]), "scores": torch.tensor([0.9]), "labels": torch.tensor([0])}
    metric.process({}, [{"img_id": "A", "ori_shape": (100, 120), "pred_instances_nonms": hit,
                         "pred_instances_nms": hit}])
    assert metric.compute_metrics(metric.results)["nonms_Recall"] == 1.0
