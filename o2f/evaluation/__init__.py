"""Metrics registered into mmdet's METRICS registry."""

from .dual_coco_metric import DualNMSCocoMetric

__all__ = ["DualNMSCocoMetric"]
