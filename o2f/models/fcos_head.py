"""FCOS, the one-to-many baseline of Table 5, evaluated with and without NMS."""

from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS

from .dual_postprocess import DualPostProcessMixin


@MODELS.register_module()
class DualNMSFCOSHead(DualPostProcessMixin, FCOSHead):
    """mmdet's FCOS head unchanged in training; its predictions carry both NMS variants."""
