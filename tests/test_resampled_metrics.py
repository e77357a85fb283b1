"""A run's metric on a multiset of test images, from its stored detections: on the full set equal to the
evaluator's, and on a multiset with an image twice equal to the plain evaluation of a dataset where that
image was copied by hand under a new id."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import time

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from o2f.errors import O2FError
from o2f.evaluation.dual_nms_metric import CrowdHumanRecallMetric
from o2f.evaluation.resampled import CocoResampler, CrowdHumanResampler, resampled_metric
from o2f.pipeline.data.crowdhuman import write_odgt
from o2f.reporting.statistics import crossed_bootstrap

SIZE = 100
STATS = {"mAP": 0, "mAP_50": 1, "mAP_75": 2, "AR@100": 6}  # mmdet CocoMetric's indices into COCOeval.stats


def box_ann(ann_id, image_id, category_id, box) -> dict:
    x, y, w, h = box
    return {"id": ann_id, "image_id": image_id, "category_id": category_id, "bbox": box, "area": w * h,
            "iscrowd": 0, "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]}


# Three images, two classes; image 3 has a cat and no detection at all.
GT_BOXES = [(1, 1, [10, 10, 30, 30]), (1, 1, [50, 50, 20, 20]), (1, 2, [5, 60, 30, 30]),
            (2, 1, [20, 20, 40, 40]), (2, 2, [60, 10, 30, 30]), (3, 1, [30, 30, 25, 25])]
DETECTIONS = [  # (image, category, box, score): hits, a duplicate, misplaced boxes; all scores distinct
    (1, 1, [10, 10, 30, 30], 0.95), (1, 1, [12, 12, 30, 30], 0.85), (1, 1, [50, 50, 18, 22], 0.60),
    (1, 2, [5, 60, 30, 30], 0.70), (1, 2, [70, 70, 10, 10], 0.30),
    (2, 1, [22, 18, 40, 40], 0.90), (2, 2, [60, 10, 25, 30], 0.55), (2, 1, [0, 0, 10, 10], 0.20)]


def gt_dict(boxes=GT_BOXES, image_ids=(1, 2, 3)) -> dict:
    return {"images": [{"id": i, "width": SIZE, "height": SIZE, "file_name": f"{i}.jpg"} for i in image_ids],
            "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
            "annotations": [box_ann(n, i, c, list(b)) for n, (i, c, b) in enumerate(boxes, start=1)]}


def detections(found=DETECTIONS, masks: bool = False) -> list[dict]:
    out = []
    for image_id, category_id, box, score in found:
        det = {"image_id": image_id, "category_id": category_id, "bbox": list(box), "score": score}
        if masks:
            x, y, w, h = box
            mask = np.zeros((SIZE, SIZE), dtype=np.uint8, order="F")
            mask[y:y + h, x:x + w] = 1
            rle = mask_utils.encode(mask)
            det["segmentation"] = {"size": rle["size"], "counts": rle["counts"].decode()}
        out.append(det)
    return out


def plain_coco(gt: dict, dets: list[dict], iou_type: str = "bbox") -> dict[str, float]:
    """The project's evaluator's numbers: COCOeval set up as mmdet's CocoMetric does, then summarize()."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        dets = copy.deepcopy(dets)
        if iou_type == "segm":
            for d in dets:
                d.pop("bbox")
        evaluator = COCOeval(coco, coco.loadRes(dets), iou_type)
        evaluator.params.catIds, evaluator.params.imgIds = coco.getCatIds(), coco.getImgIds()
        evaluator.params.maxDets = [100, 300, 1000]
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {item: float(evaluator.stats[index]) for item, index in STATS.items()}


def with_copy(image_ids, copied: int, new_id: int) -> tuple[dict, list]:
    """The fixture restricted to ``image_ids``, plus image ``copied`` again under ``new_id`` with its ground
    truth and detections."""
    boxes = [b for b in GT_BOXES if b[0] in image_ids] + [(new_id, c, b) for i, c, b in GT_BOXES if i == copied]
    found = [d for d in DETECTIONS if d[0] in image_ids] + [(new_id, *d[1:]) for d in DETECTIONS if d[0] == copied]
    return gt_dict(boxes, (*image_ids, new_id)), found


def write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return str(path)


@pytest.mark.parametrize("iou_type", ["bbox", "segm"])
def test_coco_full_set_equals_summarize(tmp_path, iou_type):
    masks = iou_type == "segm"
    resampler = CocoResampler(write(tmp_path, "gt.json", gt_dict()),
                              write(tmp_path, "results.json", detections(masks=masks)), iou_type)
    expected = plain_coco(gt_dict(), detections(masks=masks), iou_type)
    assert 0 < expected["mAP"] < 1  # the fixture is neither perfect nor empty
    got = resampler.scores([0, 1, 2])
    for item in STATS:
        assert got[item] == pytest.approx(expected[item], abs=1e-12), item


@pytest.mark.parametrize(("multiset", "kept", "copied"), [([0, 1, 2, 1], (1, 2, 3), 2), ([0, 1, 0], (1, 2), 1),
                                                          ([0, 2, 2], (1, 3), 3)])
def test_coco_duplicated_image_equals_a_copied_dataset(multiset, kept, copied):
    resampler = CocoResampler(_coco(gt_dict()), detections())
    gt, found = with_copy(kept, copied, new_id=4)
    expected = plain_coco(gt, detections(found))
    got = resampler.scores(multiset)
    for item in STATS:
        assert got[item] == pytest.approx(expected[item], abs=1e-12), item
    assert resampler.scores(sorted(multiset)) == pytest.approx(got, abs=1e-12)  # distinct scores: order is moot


def test_coco_reads_map_50_at_1000_detections_as_mmdet():
    """summarize() reads mAP and AR@100 at 100 detections, mAP_50 and mAP_75 at 1000: an image whose only
    hit ranks 150th has mAP 0 and mAP_50 > 0."""
    found = [(1, 1, [80, 80, 5, 5], 0.9 - i * 1e-3) for i in range(149)] + [(1, 1, [10, 10, 30, 30], 0.5)]
    gt = gt_dict([(1, 1, [10, 10, 30, 30])], image_ids=(1,))
    expected = plain_coco(gt, detections(found))
    assert expected["mAP"] == 0 and expected["mAP_50"] > 0
    got = CocoResampler(_coco(gt), detections(found)).scores([0])
    assert got == pytest.approx(expected, abs=1e-12)


def test_coco_without_any_detection_scores_zero():
    assert CocoResampler(_coco(gt_dict()), []).scores([0, 1]) == dict.fromkeys(STATS, 0.0)


def test_coco_bad_indices_are_one_line():
    resampler = CocoResampler(_coco(gt_dict()), detections())
    for bad in ([], [3], [-1]):
        with pytest.raises(O2FError, match="image indices"):
            resampler.scores(bad)


def _coco(gt: dict) -> COCO:
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
    return coco


def test_coco_2000_resamples_speed():
    """17 images, ~100 detections each: the bootstrap's cost per run and seed (printed with -s)."""
    rng = np.random.default_rng(0)
    boxes, found = [], []
    for image_id in range(1, 18):
        for _ in range(8):
            x, y = rng.integers(0, 70, 2)
            boxes.append((image_id, int(rng.integers(1, 3)), [int(x), int(y), 25, 25]))
        for _ in range(100):
            i, c, (x, y, w, h) = boxes[int(rng.integers(len(boxes) - 8, len(boxes)))]
            jitter = rng.integers(-6, 7, 2)
            found.append((image_id, c if rng.random() < 0.8 else 3 - c, [int(x + jitter[0]), int(y + jitter[1]), w, h],
                          float(rng.random())))
    resampler = CocoResampler(_coco(gt_dict(boxes, range(1, 18))), detections(found))
    start = time.perf_counter()
    reps = crossed_bootstrap(["run"], [0], 17, resampled_metric({("run", 0): resampler}, {"run": "mAP"}),
                             lambda values: values["run"])
    elapsed = time.perf_counter() - start
    print(f"\n2000 resamples of one run's bbox mAP, 17 images x 100 detections: {elapsed:.1f} s")
    assert len(reps.values) == 2000 and np.isfinite(reps.values).all()
    assert resampler.scores(range(17))["mAP"] == pytest.approx(plain_coco(gt_dict(boxes, range(1, 18)),
                                                                          detections(found))["mAP"], abs=1e-12)


def person(box, ignore=0) -> dict:
    x1, y1, x2, y2 = box
    fbox = [x1, y1, x2 - x1, y2 - y1]
    return {"tag": "mask" if ignore else "person", "fbox": fbox, "vbox": fbox, "hbox": fbox,
            "extra": {"ignore": ignore}}


# tests/test_crowdhuman_metric.py's two images, and a third (C) with one person and no detection.
ODGT = {"A": [person([0, 0, 10, 10]), person([20, 0, 30, 10])],
        "B": [person([0, 0, 10, 10]), person([30, 30, 40, 40]), person([50, 50, 100, 100], ignore=1)],
        "C": [person([40, 40, 60, 80])]}
FOUND = {"A": [([0, 0, 10, 10], 0.9), ([1, 1, 11, 11], 0.8), ([20, 0, 30, 10], 0.5)],
         "B": [([0, 0, 10, 10], 0.7), ([60, 60, 80, 80], 0.6)], "C": []}


def crowdhuman_run(tmp_path, order: list[tuple[str, str]], odgt=ODGT, found=FOUND) -> tuple[dict, str, str]:
    """The project's metric on images ``order`` ((new ID, source image) pairs): its scores, and the odgt and
    result files it leaves (the run's stored detections)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    ann_file, prefix = tmp_path / "val.odgt", tmp_path / "result"
    write_odgt([{"ID": new, "gtboxes": odgt[source]} for new, source in order], ann_file)
    metric = CrowdHumanRecallMetric(ann_file=str(ann_file), outfile_prefix=str(prefix))
    metric.dataset_meta = {"classes": ("person",)}
    for new, source in order:
        boxes = torch.tensor([b for b, _ in found[source]], dtype=torch.float32).reshape(-1, 4)
        scores = torch.tensor([s for _, s in found[source]], dtype=torch.float32)
        metric.process({}, [{"img_id": new, "ori_shape": (SIZE, SIZE + 20), "pred_instances": {
            "bboxes": boxes, "scores": scores, "labels": torch.zeros(len(scores), dtype=torch.long)}}])
    return metric.compute_metrics(metric.results), str(ann_file), f"{prefix}.json"


def test_crowdhuman_full_set_equals_the_metric_and_the_hand_computation(tmp_path):
    expected, ann_file, result_file = crowdhuman_run(tmp_path, [("A", "A"), ("B", "B"), ("C", "C")])
    resampler = CrowdHumanResampler(ann_file, result_file)
    got = resampler.scores([0, 1, 2])
    for item in ("mAP", "mMR", "Recall"):
        assert got[item] == pytest.approx(expected[item], abs=5e-5), item  # the metric rounds to 4 digits
    assert got == pytest.approx(resampler.mmdet_scores([0, 1, 2]), abs=1e-12)
    with open(result_file) as handle:  # the records as a run's evidence keeps them
        records = json.load(handle)
    assert CrowdHumanResampler(ann_file, records).scores([0, 2, 2]) == resampler.scores([0, 2, 2])
    # By hand: by score TP (A), FP (A's duplicate), TP (B), ignored (B's region), TP (A); 5 people, 3 images.
    # recall .2 .2 .4 .6, precision 1 .5 2/3 .75; FPPI 0 1/3 1/3 1/3, miss .8 .8 .6 .4: the 7 references
    # <= .3162 first reach FPPI >= ref at the duplicate (miss .8), .5623 and 1 are never reached (last: .4).
    assert got["mAP"] == pytest.approx(0.2 * (0.5 + 2 / 3) / 2 + 0.2 * (2 / 3 + 0.75) / 2, abs=1e-12)
    assert got["mMR"] == pytest.approx(math.exp((7 * math.log(0.8) + 2 * math.log(0.4)) / 9), abs=1e-12)
    assert got["Recall"] == pytest.approx(0.6, abs=1e-12)


@pytest.mark.parametrize(("multiset", "order"), [
    ([0, 1, 2, 1], [("A", "A"), ("B", "B"), ("C", "C"), ("B2", "B")]),
    ([0, 0, 2], [("A", "A"), ("A2", "A"), ("C", "C")]),
    ([2, 2, 1], [("C", "C"), ("C2", "C"), ("B", "B")])])
def test_crowdhuman_duplicated_image_equals_a_copied_dataset(tmp_path, multiset, order):
    _, ann_file, result_file = crowdhuman_run(tmp_path / "full", [("A", "A"), ("B", "B"), ("C", "C")])
    expected, _, _ = crowdhuman_run(tmp_path / "copied", order)
    got = CrowdHumanResampler(ann_file, result_file).scores(multiset)
    for item in ("mAP", "mMR", "Recall"):
        assert got[item] == pytest.approx(expected[item], abs=5e-5), item


def test_crowdhuman_numpy_path_equals_mmdets_on_random_multisets(tmp_path):
    """Ten images of random people and detections (ties included): the vectorised AP, mMR and recall equal
    mmdet's eval_ap / eval_mr on the same pooled records for any multiset."""
    rng = np.random.default_rng(1)
    odgt, found = {}, {}
    for name in range(10):
        people = [[int(x), int(y), int(x) + 12, int(y) + 30] for x, y in rng.integers(0, 80, (4, 2))]
        odgt[name] = [person(p) for p in people] + [person([0, 60, 20, 100], ignore=1)]
        found[name] = [([p[0] + int(rng.integers(-4, 5)), p[1], p[2], p[3]], float(rng.choice([0.3, 0.5, 0.9])))
                       for p in people for _ in range(int(rng.integers(0, 3)))] + [([1, 62, 15, 95], 0.4)]
    _, ann_file, result_file = crowdhuman_run(tmp_path, [(str(n), n) for n in odgt], odgt, found)
    for mr_ref in ("CALTECH_-2", "CALTECH_-4"):
        resampler = CrowdHumanResampler(ann_file, result_file, mr_ref=mr_ref)
        for _ in range(20):
            multiset = rng.integers(0, len(odgt), len(odgt))
            assert resampler.scores(multiset) == pytest.approx(resampler.mmdet_scores(multiset), abs=1e-12)
