"""A run's detection metric on any multiset of its test images, from its stored detections.

The bootstrap over test images (o2f.reporting.statistics) re-scores each run on thousands of
image multisets. Matching detections to ground truth is per image and does not depend on the other
images, so it runs once; each multiset only pools the per-image match records and reads the metric
off the pooled records. Image index i is the i-th image in the evaluator's order (COCO: the annotation
file's image ids sorted, as COCOeval.evaluate orders them; CrowdHuman: the odgt file's lines); every run
on one annotation file shares that order, so one multiset of indices means the same images for all.

COCO: pycocotools' ``COCOeval.evaluate()`` once, as mmdet's CocoMetric sets it up (its categories, every
image, maxDets 100/300/1000), for area "all" only; per multiset, ``evalImgs`` is rebuilt in the multiset's
order (a duplicated image appears twice, with its ground truth and detections, exactly as if the image had
been copied into the dataset under a new id) and pycocotools' own ``COCOeval.accumulate()`` pools it.
Matching and accumulation are pycocotools'; only summarize()'s reading of the arrays is repeated here.

CrowdHuman: mmdet's ``Image.compare_caltech`` (through ``CrowdHumanMetric.compare``) matches each image
once. mmdet's ``eval_ap``/``eval_mr`` run a Python loop over every detection of the set (about 0.5 s per
multiset at CrowdHuman's validation size, 4370 images x 100 detections, against 0.04 s here), so the
same formulas are recomputed with numpy over the pooled records (sorted by score, ties kept in image
order as mmdet's stable sort leaves them); ``CrowdHumanResampler.mmdet_scores`` calls mmdet's own
functions on the same records, the reference the tests compare against.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from ..errors import O2FError
from .dual_nms_metric import CrowdHumanRecallMetric

COCO_ITEMS = ("mAP", "mAP_50", "mAP_75", "AR@100")
PROPOSAL_NUMS = (100, 300, 1000)  # mmdet CocoMetric's maxDets: evaluate() keeps up to the last per image
SUMMARY_MAX_DETS = 100  # the maxDets COCOeval.summarize reads mAP and AR@100 at


class CocoResampler:
    """mAP, mAP_50, mAP_75 and AR@100 (fractions, as ``COCOeval.summarize`` defines them) of one run's
    detections on a multiset of test images."""

    def __init__(self, gt: COCO | str | Path, results: Sequence[Mapping] | str | Path, iou_type: str = "bbox",
                 cat_ids: Sequence[int] | None = None) -> None:
        if iou_type not in ("bbox", "segm"):
            raise O2FError(f"iou_type must be 'bbox' or 'segm', got '{iou_type}'")
        self.coco = gt if isinstance(gt, COCO) else _quiet(COCO, str(gt))
        # evaluate() sorts both lists; image index i is the i-th image id in that order
        self.image_ids = sorted(int(i) for i in self.coco.getImgIds())
        self.cat_ids = sorted(int(c) for c in (cat_ids if cat_ids is not None else self.coco.getCatIds()))
        detections = _load_results(results, iou_type)
        self.evaluator = self._evaluated(detections, iou_type) if detections else None
        self.per_image = _per_image_layout(self.evaluator) if self.evaluator else []
        self.max_dets = _max_dets_to_accumulate(self.per_image)
        self._last: tuple[bytes, dict[str, float]] | None = None

    def _evaluated(self, detections: list[dict], iou_type: str) -> COCOeval:
        """COCOeval after evaluate(), as mmdet's CocoMetric sets it up, for area "all" only."""
        try:
            found = _quiet(self.coco.loadRes, detections)
        except AssertionError as err:  # pycocotools' only word for detections on images the file lacks
            raise O2FError("the detections name image ids that the ground-truth file does not have") from err
        evaluator = COCOeval(self.coco, found, iou_type)
        params = evaluator.params
        params.catIds, params.imgIds, params.maxDets = self.cat_ids, self.image_ids, list(PROPOSAL_NUMS)
        params.areaRng, params.areaRngLbl = [params.areaRng[params.areaRngLbl.index("all")]], ["all"]
        _quiet(evaluator.evaluate)
        evaluator.ious = {}  # accumulate() does not read them; a report holds many runs at once
        return evaluator

    def scores(self, image_indices: Sequence[int] | np.ndarray) -> dict[str, float]:
        """The four metrics on the images at these indices (duplicates count as often as they appear).
        No detection in the whole run: every metric is 0, as the project's evaluator reports; no ground
        truth in the multiset: -1, pycocotools' mark for undefined."""
        indices = _checked_indices(image_indices, len(self.image_ids))
        key = indices.tobytes()
        if self._last is None or self._last[0] != key:
            self._last = (key, self._accumulated(indices) if self.evaluator else dict.fromkeys(COCO_ITEMS, 0.0))
        return dict(self._last[1])

    def _accumulated(self, indices: np.ndarray) -> dict[str, float]:
        evaluator = self.evaluator
        n_images = len(self.image_ids)
        evaluator.evalImgs = [self.per_image[k * n_images + i] for k in range(len(self.cat_ids)) for i in indices]
        multiset_ids = [self.image_ids[i] for i in indices]
        evaluator._paramsEval.imgIds = multiset_ids
        params = copy.copy(evaluator._paramsEval)
        params.maxDets = self.max_dets
        _quiet(evaluator.accumulate, params)
        return summary(evaluator.eval, params)


def _per_image_layout(evaluator: COCOeval) -> list:
    """evaluate()'s evalImgs: one entry per (category, image) for the single area range, in
    params.catIds x params.imgIds order (None where an image has neither ground truth nor detection)."""
    params = evaluator.params
    expected = len(params.catIds) * len(params.imgIds)
    if len(evaluator.evalImgs) != expected:
        raise O2FError(f"COCOeval gave {len(evaluator.evalImgs)} per-image records, expected {expected}")
    return list(evaluator.evalImgs)


def _max_dets_to_accumulate(per_image: list) -> list[int]:
    """summarize() reads mAP and AR@100 at 100 detections but mAP_50 and mAP_75 at maxDets[2] (1000 in
    mmdet's setup); accumulate() truncates each (image, category) record. Where no record holds more than
    100 detections both give the same numbers and one accumulation at 100 serves all four."""
    most = max((len(e["dtScores"]) for e in per_image if e is not None), default=0)
    return [SUMMARY_MAX_DETS] if most <= SUMMARY_MAX_DETS else [SUMMARY_MAX_DETS, PROPOSAL_NUMS[-1]]


def summary(evaluation: dict, params) -> dict[str, float]:
    """mAP, mAP_50, mAP_75 and AR@100 from accumulate()'s arrays, as COCOeval.summarize's ``_summarize``
    reads them for mmdet's stats[0, 1, 2, 6] (mean over the entries > -1; -1 when there is none):
    mAP and AR@100 at 100 detections, mAP_50 and mAP_75 at the largest maxDets accumulated."""
    area = params.areaRngLbl.index("all")
    at_100 = list(params.maxDets).index(SUMMARY_MAX_DETS)
    widest = len(params.maxDets) - 1
    precision = evaluation["precision"][:, :, :, area]
    return {"mAP": _mean_valid(precision[..., at_100]),
            "mAP_50": _mean_valid(precision[np.where(params.iouThrs == 0.5)[0], ..., widest]),
            "mAP_75": _mean_valid(precision[np.where(params.iouThrs == 0.75)[0], ..., widest]),
            "AR@100": _mean_valid(evaluation["recall"][:, :, area, at_100])}


def _mean_valid(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def _load_results(results: Sequence[Mapping] | str | Path, iou_type: str) -> list[dict]:
    """COCO-format detections (a list, or the json file mmdet's CocoMetric writes with outfile_prefix),
    copied: loadRes adds fields. For masks the box is dropped, as CocoMetric does, so that pycocotools
    takes each instance's area from its mask."""
    if isinstance(results, str | Path):
        try:
            results = json.loads(Path(results).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise O2FError(f"cannot read detections {results}: {err}") from err
    detections = [dict(d) for d in results]
    if iou_type == "segm":
        if any("segmentation" not in d for d in detections):
            raise O2FError("segm evaluation needs a 'segmentation' on every detection")
        for d in detections:
            d.pop("bbox", None)
    return detections


def _checked_indices(image_indices: Sequence[int] | np.ndarray, n_images: int) -> np.ndarray:
    indices = np.asarray(image_indices, dtype=np.int64)
    if indices.ndim != 1 or indices.size == 0:
        raise O2FError("image indices must be a non-empty list of integers")
    if indices.min() < 0 or indices.max() >= n_images:
        raise O2FError(f"image indices must lie in [0, {n_images}), got {indices.min()}..{indices.max()}")
    return indices


def _quiet(function: Callable, *args):
    """pycocotools prints progress on stdout; the bootstrap calls it thousands of times."""
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args)


class CrowdHumanResampler:
    """mAP, mMR and Recall (fractions) of one run's CrowdHuman detections on a multiset of test images,
    as o2f.evaluation.dual_nms_metric.CrowdHumanRecallMetric computes them on the full set."""

    def __init__(self, ann_file: str | Path, results: str | Path | list, classes: Sequence[str] = ("person",),
                 **metric_kwargs) -> None:
        """``results``: the detections' odgt file (mmdet's CrowdHuman format) or its records as loaded."""
        self.metric = CrowdHumanRecallMetric(ann_file=str(ann_file), **metric_kwargs)
        self.metric.dataset_meta = {"classes": tuple(classes)}
        loaded = isinstance(results, list)
        try:
            samples = self.metric.load_eval_samples(results if loaded else str(results))
        except (OSError, ValueError) as err:
            named = "of the run" if loaded else results
            raise O2FError(f"cannot read CrowdHuman detections {named} against {ann_file}: {err}") from err
        self.image_ids = list(samples)
        self.labels, self.scores_of = [], []  # per image, in the order mmdet's matching returns them
        for image_id in self.image_ids:
            records = self.metric.compare({image_id: samples[image_id]})  # [(box + score, label, ID)]
            self.labels.append(np.array([label for _, label, _ in records], dtype=np.int64))
            self.scores_of.append(np.array([box[-1] for box, _, _ in records], dtype=float))
        self.gt_counts = [int(s.gt_num - s.ign_num) for s in samples.values()]

    def pooled(self, image_indices: Sequence[int] | np.ndarray) -> tuple[np.ndarray, int, int]:
        """The multiset's match labels (1 matched, 0 false positive) in descending score order, ties in image
        order as mmdet's stable sort leaves them, with its count of non-ignored people and of images."""
        indices = _checked_indices(image_indices, len(self.image_ids))
        labels = np.concatenate([self.labels[i] for i in indices])
        scores = np.concatenate([self.scores_of[i] for i in indices])
        order = np.argsort(-scores, kind="stable")
        return labels[order], sum(self.gt_counts[i] for i in indices), len(indices)

    def scores(self, image_indices: Sequence[int] | np.ndarray) -> dict[str, float]:
        """mAP (mmdet's trapezoids over the per-detection precision-recall points), mMR (log-average miss
        rate at mmdet's reference FPPI points) and Recall (matched / people)."""
        labels, gt_num, img_num = self.pooled(image_indices)
        if gt_num == 0:
            raise O2FError("these images hold no person that is not ignored: CrowdHuman AP and mMR are undefined")
        tp = np.cumsum(labels == 1)
        fp = np.cumsum(labels == 0)
        recall = tp / gt_num
        return {"mAP": crowdhuman_ap(recall, tp / (tp + fp)),
                "mMR": crowdhuman_mmr(fp / img_num, 1.0 - recall, self._references()),
                "Recall": float(tp[-1] / gt_num) if tp.size else 0.0}

    def _references(self) -> list[float]:
        """mmdet's FPPI reference points for the metric's mr_ref, as its eval_mr lists them (the tests check
        both choices against it)."""
        if self.metric.mr_ref == "CALTECH_-2":
            return [0.0100, 0.0178, 0.03160, 0.0562, 0.1000, 0.1778, 0.3162, 0.5623, 1.000]
        return [0.0001, 0.0003, 0.00100, 0.0032, 0.0100, 0.0316, 0.1000, 0.3162, 1.000]

    def mmdet_scores(self, image_indices: Sequence[int] | np.ndarray) -> dict[str, float]:
        """The same three numbers from mmdet's own ``eval_ap``/``eval_mr`` (and the project's recall) on the
        multiset's records, pooled as ``CrowdHumanMetric.compare`` pools them: the reference for ``scores``
        (slow: a Python loop over every detection). A record is (score as the box's last entry, label, ID),
        all that those functions read."""
        indices = _checked_indices(image_indices, len(self.image_ids))
        score_list = [(np.array([score]), int(label), self.image_ids[i]) for i in indices
                      for score, label in zip(self.scores_of[i], self.labels[i], strict=True)]
        score_list.sort(key=lambda x: x[0][-1], reverse=True)
        gt_num, img_num = sum(self.gt_counts[i] for i in indices), len(indices)
        mr = self.metric.eval_mr(score_list, gt_num, img_num)
        return {"mAP": float(self.metric.eval_ap(score_list, gt_num, img_num)), "mMR": float(mr),
                "Recall": float(self.metric.recall)}


def crowdhuman_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """mmdet's CrowdHuman AP: trapezoids between consecutive per-detection (recall, precision) points,
    starting at the first detection (no segment from recall 0)."""
    if recall.size < 2:
        return 0.0
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))


def crowdhuman_mmr(fppi: np.ndarray, miss_rate: np.ndarray, references: Sequence[float]) -> float:
    """Log-average miss rate: at each reference FPPI, the miss rate at the first detection whose FPPI reaches
    it (the last detection's when none does); 1 when nothing is detected (the project's rule)."""
    if fppi.size == 0:
        return 1.0
    at = np.minimum(np.searchsorted(fppi, references, side="left"), fppi.size - 1)
    with np.errstate(divide="ignore"):
        return float(np.exp(np.mean(np.log(miss_rate[at]))))


def resampled_metric(resamplers: Mapping[tuple[str, int], CocoResampler | CrowdHumanResampler],
                items: Mapping[str, str]) -> Callable[[str, int, np.ndarray], float]:
    """The bootstrap's ``metric(run, seed, image_indices)`` over stored runs: ``resamplers`` by (run, seed),
    ``items`` the metric each run is read at (e.g. "mAP", "mMR")."""

    def metric(run: str, seed: int, image_indices: np.ndarray) -> float:
        if (run, seed) not in resamplers:
            raise O2FError(f"no stored detections for run {run} seed {seed}")
        return resamplers[(run, seed)].scores(image_indices)[items[run]]

    return metric
