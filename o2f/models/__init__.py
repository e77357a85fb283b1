"""Heads, losses and modules registered into mmdet's MODELS registry."""

from .dual_postprocess import NMS_FIELD, NO_NMS_FIELD, DualPostProcessMixin
from .fcos_head import DualNMSFCOSHead
from .losses import JointFocalLoss, SoftLabelFocalLoss
from .max_filter import MaxFilter3D
from .o2f_head import O2FHead, POTOHead

__all__ = ["NMS_FIELD", "NO_NMS_FIELD", "DualPostProcessMixin", "DualNMSFCOSHead", "JointFocalLoss", "MaxFilter3D",
           "O2FHead", "POTOHead",
           "SoftLabelFocalLoss"]
