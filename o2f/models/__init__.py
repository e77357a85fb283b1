"""Heads, losses and modules registered into mmdet's MODELS registry."""

from .channels_last import ChannelsLastResNet
from .condinst_detector import DualNMSCondInst
from .condinst_heads import DualNMSCondInstBboxHead, O2FCondInstBboxHead, POTOCondInstBboxHead
from .condinst_mask_head import SemanticCondInstMaskHead
from .dual_postprocess import NMS_FIELD, NO_NMS_FIELD, DualPostProcessMixin
from .fcos_head import DualNMSFCOSHead
from .fp32_loss import FP32LossMixin
from .losses import JointFocalLoss, SoftLabelFocalLoss
from .max_filter import MaxFilter3D
from .o2f_head import O2FHead, POTOHead

__all__ = ["NMS_FIELD", "NO_NMS_FIELD", "ChannelsLastResNet", "DualNMSCondInst", "DualNMSCondInstBboxHead", "DualNMSFCOSHead",
           "DualPostProcessMixin", "FP32LossMixin", "JointFocalLoss", "MaxFilter3D", "O2FCondInstBboxHead", "O2FHead",
           "POTOCondInstBboxHead", "POTOHead", "SemanticCondInstMaskHead", "SoftLabelFocalLoss"]
