"""FCOS, the one-to-many baseline of Table 5, evaluated with and without NMS."""

from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS

from .dual_postprocess import DualPostProcessMixin
from .fp32_loss import FP32LossMixin


@MODELS.register_module()
class DualNMSFCOSHead(FP32LossMixin, DualPostProcessMixin, FCOSHead):
    """mmdet's FCOS head unchanged in training; its predictions carry both NMS variants."""
