"""Metrics with and without NMS, from the predictions of one forward pass.

``DualNMSMixin`` wraps any mmdet metric whose ``process`` stores ``(ground truth, prediction)``
pairs (COCO, CrowdHuman): it evaluates the metric once per NMS variant and prefixes the keys.
"""

from __future__ import annotations

from collections.abc import Sequence

from mmdet.evaluation import CocoMetric, CrowdHumanMetric
from mmdet.registry import METRICS

from ..models.dual_postprocess import NMS_FIELD, NO_NMS_FIELD

VARIANTS = {"nms": NMS_FIELD, "nonms": NO_NMS_FIELD}


class DualNMSMixin:
    """Keys look like ``coco/nms_bbox_mAP`` or ``crowd_human/nonms_mMR``. Data samples must carry
    both variants, as the heads' ``DualPostProcessMixin`` writes them."""

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


@METRICS.register_module()
class DualNMSCrowdHumanMetric(DualNMSMixin, CrowdHumanMetric):
    """CrowdHuman AP, mMR (log-average miss rate) and JI per NMS variant."""
