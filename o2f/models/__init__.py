"""Heads, losses and modules registered into mmdet's MODELS registry."""

from .dual_postprocess import NMS_FIELD, NO_NMS_FIELD, DualPostProcessMixin
from .fcos_head import DualNMSFCOSHead
from .losses import SoftLabelFocalLoss
from .o2f_head import O2FHead

__all__ = ["NMS_FIELD", "NO_NMS_FIELD", "DualPostProcessMixin", "DualNMSFCOSHead", "O2FHead",
           "SoftLabelFocalLoss"]
