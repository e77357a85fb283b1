"""Metrics with and without NMS, from the predictions of one forward pass.

``DualNMSMixin`` wraps any mmdet metric whose ``process`` stores ``(ground truth, prediction)``
pairs (COCO, CrowdHuman): it evaluates the metric once per NMS variant and prefixes the keys.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mmdet.evaluation import CocoMetric, CrowdHumanMetric
from mmdet.registry import METRICS
from mmengine.fileio import get_text, load

from ..models.dual_postprocess import NMS_FIELD, NO_NMS_FIELD

VARIANTS = {"nms": NMS_FIELD, "nonms": NO_NMS_FIELD}


class DualNMSMixin:
    """Keys look like ``coco/nms_bbox_mAP`` or ``crowd_human/nonms_mMR``. Data samples must carry
    both variants, as the heads' ``DualPostProcessMixin`` writes them.

    With ``detections_prefix`` set (``EpochMetricsHook`` sets it per validation), each variant's
    detections are kept where mmdet's metric writes them for ``outfile_prefix``:
    ``<prefix>_nms.bbox.json`` (COCO; ``.segm.json`` with masks) or ``<prefix>_nms.json`` (CrowdHuman).
    """

    detections_prefix: str | None = None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            missing = [field for field in VARIANTS.values() if field not in data_sample]
            if missing:
                raise KeyError(f"{type(self).__name__} needs {missing} on each data sample: use a head "
                               "with o2f.models.DualPostProcessMixin")
            per_variant = {}
            for variant, field in VARIANTS.items():
                super().process(data_batch, [{**data_sample, "pred_instances": data_sample[field]}])
                gt, per_variant[variant] = self.results.pop()
            self.results.append((gt, per_variant))

    def compute_metrics(self, results: list) -> dict[str, float]:
        metrics = {}
        for variant in VARIANTS:
            if self.detections_prefix:
                self.outfile_prefix = f"{self.detections_prefix}_{variant}"
            scores = super().compute_metrics([(gt, preds[variant]) for gt, preds in results]) or self.empty_scores()
            # "@" is not allowed in MLflow metric names: AR@100 is reported as AR_100
            metrics.update({f"{variant}_{key.replace('@', '_')}": value for key, value in scores.items()})
        return metrics

    def empty_scores(self) -> dict[str, float]:
        return {}


@METRICS.register_module()
class DualNMSCocoMetric(DualNMSMixin, CocoMetric):
    """pycocotools AP/AR per NMS variant: ``coco/nms_bbox_mAP``, ``coco/nonms_bbox_AR_100``, ..."""

    def __init__(self, *args, metric_items: Sequence[str] | None = ("mAP", "mAP_50", "mAP_75", "AR@100"),
                 **kwargs) -> None:
        super().__init__(*args, metric_items=list(metric_items) if metric_items else None, **kwargs)

    def empty_scores(self) -> dict[str, float]:
        """No detection at all (an untrained model): every metric is 0, not absent."""
        return {f"{m}_{item}": 0.0 for m in self.metrics for item in self.metric_items}


class CrowdHumanRecallMetric(CrowdHumanMetric):
    """mmdet's CrowdHuman AP and mMR, plus the recall of all kept detections (Table 8's third column),
    for any one-class dataset in odgt form: ground-truth tags are the dataset's class, not only "person"."""

    def __init__(self, *args, metric: Sequence[str] = ("AP", "MR"), **kwargs) -> None:
        super().__init__(*args, metric=list(metric), **kwargs)
        if "MR" not in self.metrics:
            self.metrics.append("MR")  # recall is read off the miss-rate curve's last point
        self.recall = None

    def load_eval_samples(self, result_file):
        """As mmdet's, with the dataset's class as the ground-truth tag (mmdet fixes it to "person"); the
        detections from their odgt file, or as loaded from it (a run's evidence keeps them)."""
        from mmdet.evaluation.metrics.crowdhuman_metric import Image

        class_names = ["background", *(self.dataset_meta or {}).get("classes", ("person",))]
        gt_records = [json.loads(line) for line in get_text(self.ann_file).strip().split("\n")]
        samples = {}
        records = result_file if isinstance(result_file, list) else load(result_file)
        for gt_record, pred_record in zip(gt_records, records, strict=True):
            if gt_record["ID"] != pred_record["ID"]:
                raise ValueError("CrowdHuman evaluation needs the validation images in annotation order "
                                 "(val_dataloader.sampler.shuffle=False, the whole split)")
            sample = samples[pred_record["ID"]] = Image(self.eval_mode)
            sample.load(gt_record, "box", None, class_names, True)
            sample.load(pred_record, "box", None, class_names, False)
            sample.clip_all_boader()
        return samples

    def eval_mr(self, score_list, gt_num, img_num):
        matched = sum(1 for _, label, _ in score_list if label == 1)
        self.recall = matched / gt_num if gt_num else 0.0
        if not score_list:  # nothing detected: everything is missed at every FPPI (mmdet gives NaN)
            return 1.0
        return super().eval_mr(score_list, gt_num, img_num)

    def compute_metrics(self, results: list) -> dict[str, float]:
        self.recall = None
        metrics = super().compute_metrics(results)
        if self.recall is not None:
            metrics["Recall"] = round(self.recall, 4)
        return metrics


@METRICS.register_module()
class DualNMSCrowdHumanMetric(DualNMSMixin, CrowdHumanRecallMetric):
    """CrowdHuman AP, mMR (log-average miss rate, 9 FPPI points in [1e-2, 1]) and recall per NMS
    variant: ``crowd_human/nms_mMR``, ``crowd_human/nonms_Recall``, ..."""
