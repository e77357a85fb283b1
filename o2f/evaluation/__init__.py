"""Metrics registered into mmdet's METRICS registry."""

from .dual_nms_metric import DualNMSCocoMetric, DualNMSCrowdHumanMetric, DualNMSMixin

__all__ = ["DualNMSCocoMetric", "DualNMSCrowdHumanMetric", "DualNMSMixin"]
