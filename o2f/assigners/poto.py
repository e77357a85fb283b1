"""POTO (DeFCN): prediction-aware one-to-one assignment by Hungarian matching."""

from __future__ import annotations

import torch
from mmdet.registry import TASK_UTILS
from mmengine.structures import InstanceData
from torch import Tensor

from .base import QualityAssigner
from .selection import hungarian

OUTSIDE_REGION = -1.0  # DeFCN's score of an anchor outside the object's centre region


@TASK_UTILS.register_module()
class POTOAssigner(QualityAssigner):
    """Exactly one anchor per object: Hungarian matching on Eq. 1's quality.

    As in DeFCN's ``get_ground_truth``, anchors outside an object's centre region score -1 for it (so
    the solver prefers any anchor inside, even one of quality 0) and every match the solver returns
    is kept: an object whose region holds no free anchor still gets one (min(A, G) matches in all).
    Every positive is "certain" (label 1), so the shared head trains it like one-to-few's certain anchors.
    """

    def match(self, priors: Tensor, gt: InstanceData, iou: Tensor, quality: Tensor, inside: Tensor):
        scored = quality.masked_fill(~inside, OUTSIDE_REGION)
        anchors, objects = hungarian(scored)
        owner = torch.full_like(quality[:, 0], -1, dtype=torch.long)
        owner[anchors] = objects
        best = torch.zeros_like(quality[:, 0])
        best[anchors] = scored[anchors, objects]
        return owner, best, owner >= 0
