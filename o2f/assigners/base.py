"""What every assigner here shares: Eq. 1's quality over (anchors x objects), and the result.

Subclasses only decide which anchors each object keeps (``match``); the prologue (unpacking,
the empty cases, region, IoU, quality) and the mmdet ``AssignResult`` are written once here.
"""

from __future__ import annotations

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from torch import Tensor

from ..models.matching import centre_region_mask, matching_score


def inside_boxes(points: Tensor, boxes: Tensor) -> Tensor:
    """(A, G): anchor point strictly inside the object's box."""
    p = points[:, None, :]
    return ((p - boxes[None, :, :2]) > 0).all(-1) & ((boxes[None, :, 2:] - p) > 0).all(-1)


class QualityAssigner(BaseAssigner):
    """Rank anchors by Eq. 1; ``region`` "centre" (centre region, clipped to the box) or "box".

    The centre region is centred on ``gt_instances.centres`` where given (CondInst: the masks'
    centres of mass), else on the box centres.
    ``assign`` returns mmdet's ``AssignResult``: ``gt_inds`` 1-based (0 = negative),
    ``max_overlaps`` the matching quality, and the extra property ``certain`` (fully positive).
    """

    region = "centre"

    def __init__(self, alpha: float = 0.8, center_radius: float = 1.5, combine: str = "multiply") -> None:
        self.alpha, self.center_radius, self.combine = alpha, center_radius, combine

    def match(self, priors: Tensor, gt: InstanceData, iou: Tensor, quality: Tensor, inside: Tensor
              ) -> tuple[Tensor, Tensor, Tensor]:
        """Owner object (A,) or -1, the owner's quality (A,), certain mask (A,).

        ``iou`` and ``quality`` (A, G) cover every anchor; ``inside`` (A, G) is the ``region`` mask,
        applied where each assigner's authors apply it (before or after ranking).
        """
        raise NotImplementedError

    def region_mask(self, priors: Tensor, gt: InstanceData) -> Tensor:
        """(A, G) bool: anchor inside the object's ``region``; a ``center_radius`` of 0 makes the whole
        box the region (DeFCN's CrowdHuman setting)."""
        if self.region == "centre" and self.center_radius > 0:
            return centre_region_mask(priors[:, :2], priors[:, 2], gt.bboxes, self.center_radius, gt.get("centres"))
        return inside_boxes(priors[:, :2], gt.bboxes)

    @torch.no_grad()
    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: InstanceData | None = None, **kwargs) -> AssignResult:
        """``pred_instances``: priors (A, 4: x, y, stride, stride), scores (A, C), bboxes (A, 4)."""
        priors = pred_instances.priors
        num_anchors, num_gts = priors.size(0), len(gt_instances)
        owner = priors.new_full((num_anchors,), -1, dtype=torch.long)
        best, certain = priors.new_zeros(num_anchors), priors.new_zeros(num_anchors, dtype=torch.bool)
        labels = gt_instances.labels
        if num_gts and num_anchors:
            inside = self.region_mask(priors, gt_instances)
            iou = bbox_overlaps(pred_instances.bboxes, gt_instances.bboxes)
            quality = matching_score(pred_instances.scores[:, labels], iou, alpha=self.alpha, combine=self.combine)
            owner, best, certain = self.match(priors, gt_instances, iou, quality, inside)
        positive = owner >= 0
        result = AssignResult(num_gts, owner + 1, best,
                              torch.where(positive, labels[owner.clamp(min=0)], -1) if num_gts else owner.clone())
        result.set_extra_property("certain", certain)
        return result
