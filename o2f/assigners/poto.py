"""POTO (DeFCN): prediction-aware one-to-one assignment by Hungarian matching."""

from __future__ import annotations

import torch
from mmdet.models.task_modules.assigners import AssignResult, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from ..models.matching import centre_region_mask, matching_score


def empty_result(num_gts: int, num_anchors: int, like: Tensor) -> AssignResult:
    result = AssignResult(num_gts, like.new_zeros(num_anchors, dtype=torch.long), like.new_zeros(num_anchors),
                          like.new_full((num_anchors,), -1).long())
    result.set_extra_property("certain", like.new_zeros(num_anchors, dtype=torch.bool))
    return result


def hungarian(quality: Tensor) -> tuple[Tensor, Tensor]:
    """Anchor and object indices of the one-to-one matching that maximises total ``quality`` (A, G)."""
    anchors, objects = linear_sum_assignment(quality.detach().float().cpu().numpy(), maximize=True)
    return torch.as_tensor(anchors, device=quality.device), torch.as_tensor(objects, device=quality.device)


@TASK_UTILS.register_module()
class POTOAssigner(BaseAssigner):
    """Exactly one anchor per object: Hungarian matching on Eq. 1's quality, centre region only.

    A match of zero quality (no anchor in the object's centre region) is dropped. Every positive
    is "certain" (label 1), so the shared head trains it like one-to-few's certain anchors.
    """

    def __init__(self, alpha: float = 0.8, center_radius: float = 1.5) -> None:
        self.alpha = alpha
        self.center_radius = center_radius

    @torch.no_grad()
    def assign(self, pred_instances: InstanceData, gt_instances: InstanceData,
               gt_instances_ignore: InstanceData | None = None, **kwargs) -> AssignResult:
        priors, scores, pred_boxes = pred_instances.priors, pred_instances.scores, pred_instances.bboxes
        gt_boxes, gt_labels = gt_instances.bboxes, gt_instances.labels
        num_anchors, num_gts = priors.size(0), gt_boxes.size(0)
        if num_gts == 0 or num_anchors == 0:
            return empty_result(num_gts, num_anchors, priors)
        inside = centre_region_mask(priors[:, :2], priors[:, 2], gt_boxes, self.center_radius)
        iou = bbox_overlaps(pred_boxes, gt_boxes) * inside
        quality = matching_score(scores[:, gt_labels], iou, inside, self.alpha)
        anchors, objects = hungarian(quality)
        kept = quality[anchors, objects] > 0
        anchors, objects = anchors[kept], objects[kept]
        gt_inds = priors.new_zeros(num_anchors, dtype=torch.long)
        gt_inds[anchors] = objects + 1
        best = priors.new_zeros(num_anchors)
        best[anchors] = quality[anchors, objects]
        labels = priors.new_full((num_anchors,), -1).long()
        labels[anchors] = gt_labels[objects]
        result = AssignResult(num_gts, gt_inds, best, labels)
        result.set_extra_property("certain", gt_inds > 0)
        return result
