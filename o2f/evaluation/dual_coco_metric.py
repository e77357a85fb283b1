"""COCO AP/AR with and without NMS, from the predictions of one forward pass."""

from __future__ import annotations

from collections.abc import Sequence

from mmdet.evaluation import CocoMetric
from mmdet.registry import METRICS

from ..models.dual_postprocess import NMS_FIELD, NO_NMS_FIELD

VARIANTS = {"nms": NMS_FIELD, "nonms": NO_NMS_FIELD}


@METRICS.register_module()
class DualNMSCocoMetric(CocoMetric):
    """pycocotools evaluation run twice, once per NMS variant, under distinct keys.

    Keys look like ``coco/nms_bbox_mAP``, ``coco/nonms_bbox_mAP_50`` or ``coco/nms_bbox_AR_100`` (the evaluator adds the
    ``coco/`` prefix). Data samples must carry both variants, as the heads' ``DualPostProcessMixin``
    writes them.
    """

    def __init__(self, *args, metric_items: Sequence[str] | None = ("mAP", "mAP_50", "mAP_75", "AR@100"),
                 **kwargs) -> None:
        super().__init__(*args, metric_items=list(metric_items) if metric_items else None, **kwargs)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        for data_sample in data_samples:
            missing = [field for field in VARIANTS.values() if field not in data_sample]
            if missing:
                raise KeyError(f"DualNMSCocoMetric needs {missing} on each data sample: use a head "
                               "with o2f.models.DualPostProcessMixin")
            per_variant = {}
            for variant, field in VARIANTS.items():
                super().process(data_batch, [{**data_sample, "pred_instances": data_sample[field]}])
                gt, per_variant[variant] = self.results.pop()
            self.results.append((gt, per_variant))

    def compute_metrics(self, results: list) -> dict[str, float]:
        metrics = {}
        for variant in VARIANTS:
            scores = super().compute_metrics([(gt, preds[variant]) for gt, preds in results])
            if not scores:  # no detection at all (an untrained model): every metric is 0, not absent
                scores = {f"{m}_{item}": 0.0 for m in self.metrics for item in self.metric_items}
            # "@" is not allowed in MLflow metric names: AR@100 is reported as AR_100
            metrics.update({f"{variant}_{key.replace('@', '_')}": value for key, value in scores.items()})
        return metrics
