"""Heads whose convolutions may run in low precision while assignment and losses stay in float32."""

from __future__ import annotations

import torch
from mmdet.models.utils import unpack_gt_instances
from torch import Tensor


def to_float32(outputs):
    """Head outputs (tensors, lists or tuples of them, or None) in float32."""
    if isinstance(outputs, Tensor):
        return outputs.float()
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(to_float32(o) for o in outputs)
    return outputs


class FP32LossMixin:
    """Mix into a dense head, before the mmdet head class.

    Under mixed precision (``o2f.engine.BF16OptimWrapper``, mmengine's ``AmpOptimWrapper``) the head's
    outputs arrive in bfloat16 or float16; matching scores, IoUs, soft labels and losses computed from
    them would lose the precision the assignment compares on. This runs ``loss_by_feat`` on float32
    copies with autocast off; without mixed precision it changes nothing.
    """

    def loss(self, x: tuple[Tensor, ...], batch_data_samples) -> dict:
        outs = to_float32(self(x))
        batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = unpack_gt_instances(batch_data_samples)
        with torch.autocast(device_type=x[0].device.type, enabled=False):
            return self.loss_by_feat(*outs, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore)
