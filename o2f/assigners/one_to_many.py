"""One-to-many assignment for POTO's auxiliary loss (Table 5: ATSS, Top-k, FCOS) and Hybrid-Epoch.

All three rank anchors by the same quality (Eq. 1). An anchor claimed by several objects goes to
the one with the highest quality (ATSS, Top-k: DeFCN's auxiliary assignment) or, in FCOS mode, to
the smallest box (FCOS's own rule). Vectorised over anchors and objects.
"""

from __future__ import annotations

import torch
from mmdet.registry import TASK_UTILS
from mmengine.structures import InstanceData
from torch import Tensor

from ..models.matching import centre_region_mask
from .base import QualityAssigner


def atss_candidates(quality: Tensor, strides: Tensor, per_level: int) -> Tensor:
    """(A, G) bool: ATSS-style choice: top ``per_level`` anchors per level by quality, kept when their
    quality reaches the mean + (unbiased) std of that object's candidates. ``quality`` covers every
    anchor: DeFCN ranks and thresholds before it keeps the anchors inside the box."""
    chosen = torch.zeros_like(quality, dtype=torch.bool)
    for stride in strides.unique():
        idx = (strides == stride).nonzero(as_tuple=True)[0]
        k = min(per_level, len(idx))
        top = quality[idx].topk(k, dim=0).indices  # (k, G)
        chosen[idx[top], torch.arange(quality.size(1), device=quality.device)[None].expand(k, -1)] = True
    values = torch.where(chosen, quality, torch.nan)
    mean = values.nanmean(0)
    std = ((values - mean).pow(2).nanmean(0) * chosen.sum(0) / (chosen.sum(0) - 1).clamp(min=1)).sqrt()
    return chosen & (quality >= mean + std)


def topk_candidates(quality: Tensor, k: int) -> Tensor:
    chosen = torch.zeros_like(quality, dtype=torch.bool)
    chosen.scatter_(0, quality.topk(min(k, quality.size(0)), dim=0).indices, True)
    return chosen


def fcos_candidates(points: Tensor, strides: Tensor, boxes: Tensor, regress_ranges: dict, radius: float,
                    centres: Tensor | None = None) -> Tensor:
    """FCOS's own positives: inside the centre region, and the largest box side within the level's range."""
    lt = points[:, None, :] - boxes[None, :, :2]
    rb = boxes[None, :, 2:] - points[:, None, :]
    reach = torch.cat([lt, rb], -1).amax(-1)  # (A, G)
    ranges = torch.tensor([regress_ranges[int(s)] for s in strides.tolist()], device=points.device,
                          dtype=points.dtype)
    in_range = (reach >= ranges[:, :1]) & (reach <= ranges[:, 1:])
    return centre_region_mask(points, strides, boxes, radius, centres) & in_range


def smallest_box_owner(positive: Tensor, boxes: Tensor) -> Tensor:
    """(A,) FCOS's tie-break: among the objects an anchor is positive for, the one of least area; -1 if none."""
    area = (boxes[:, 2:] - boxes[:, :2]).prod(-1)
    owner = torch.where(positive, area[None], torch.inf).argmin(1)
    return torch.where(positive.any(1), owner, -1)


@TASK_UTILS.register_module()
class OneToManyAssigner(QualityAssigner):
    """``mode``: "atss" (DeFCN's auxiliary assignment: top ``topk`` per level by the quality of every
    anchor, kept when reaching mean + std, then only those inside the box), "topk" (top ``topk`` over
    all levels among the anchors inside the box) or "fcos" (FCOS's centre sampling and regress
    ranges; an anchor of several objects goes to the smallest). Every positive is fully positive
    (``certain``)."""

    region = "box"

    def __init__(self, mode: str = "atss", topk: int = 9, alpha: float = 0.8, center_radius: float = 1.5) -> None:
        if mode not in ("atss", "topk", "fcos"):
            raise ValueError(f"one-to-many mode must be atss, topk or fcos, got {mode!r}")
        super().__init__(alpha, center_radius)
        self.assignment, self.topk = mode, topk
        self.regress_ranges: dict[int, tuple] = {}

    def bind_levels(self, strides, regress_ranges) -> None:
        """FCOS mode needs the head's levels: its strides and regress ranges."""
        self.regress_ranges = {int(s): tuple(r) for s, r in zip(strides, regress_ranges, strict=True)}

    def match(self, priors: Tensor, gt: InstanceData, iou: Tensor, quality: Tensor, inside: Tensor):
        points, strides = priors[:, :2], priors[:, 2]
        if self.assignment == "fcos":
            positive = fcos_candidates(points, strides, gt.bboxes, self.regress_ranges, self.center_radius,
                                       gt.get("centres"))
            owner = smallest_box_owner(positive, gt.bboxes)
            matched = owner >= 0
            best = quality.gather(1, owner.clamp(min=0)[:, None])[:, 0]
            return owner, torch.where(matched, best, 0.0), matched
        if self.assignment == "atss":
            positive = atss_candidates(quality, strides, self.topk) & inside
        else:
            positive = topk_candidates(quality * inside, self.topk) & inside
        ranked = torch.where(positive, quality + 1e-6, 0.0)  # +eps: a positive of quality 0 still counts
        best, owner = ranked.max(dim=1)
        matched = best > 0
        return torch.where(matched, owner, -1), best, matched
