"""Heads, losses and modules registered into mmdet's MODELS registry."""

from .condinst_detector import DualNMSCondInst
from .condinst_heads import DualNMSCondInstBboxHead, O2FCondInstBboxHead, POTOCondInstBboxHead
from .condinst_mask_head import SemanticCondInstMaskHead
from .dual_postprocess import NMS_FIELD, NO_NMS_FIELD, DualPostProcessMixin
from .fcos_head import DualNMSFCOSHead
from .losses import JointFocalLoss, SoftLabelFocalLoss
from .max_filter import MaxFilter3D
from .o2f_head import O2FHead, POTOHead

__all__ = ["NMS_FIELD", "NO_NMS_FIELD", "DualNMSCondInst", "DualNMSCondInstBboxHead", "DualNMSFCOSHead",
           "DualPostProcessMixin", "JointFocalLoss", "MaxFilter3D", "O2FCondInstBboxHead", "O2FHead",
           "POTOCondInstBboxHead", "POTOHead", "SemanticCondInstMaskHead", "SoftLabelFocalLoss"]
