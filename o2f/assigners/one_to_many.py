"""One-to-many assignment for POTO's auxiliary loss (Table 5: ATSS, Top-k, FCOS) and Hybrid-Epoch.

All three rank anchors by the same quality (Eq. 1). An anchor claimed by several objects goes to
the one with the highest quality (ATSS, Top-k: DeFCN's auxiliary assignment) or, with the FCOS strategy, to
the smallest box (FCOS's own rule). Vectorised over anchors and objects.
"""

from __future__ import annotations

import torch
from mmdet.registry import TASK_UTILS
from mmengine.structures import InstanceData
from torch import Tensor

from .base import QualityAssigner
from .selection import atss_candidates, fcos_candidates, smallest_box_owner, topk_candidates


@TASK_UTILS.register_module()
class OneToManyAssigner(QualityAssigner):
    """``strategy``: "atss" (DeFCN's auxiliary assignment: top ``topk`` per level by the quality of every
    anchor, kept when reaching mean + std, then only those inside the box), "topk" (top ``topk`` over
    all levels among the anchors inside the box) or "fcos" (FCOS's centre sampling and regress
    ranges; an anchor of several objects goes to the smallest). Every positive is fully positive
    (``certain``)."""

    region = "box"

    def __init__(self, strategy: str = "atss", topk: int = 9, alpha: float = 0.8, center_radius: float = 1.5) -> None:
        if strategy not in ("atss", "topk", "fcos"):
            raise ValueError(f"one-to-many strategy must be atss, topk or fcos, got {strategy!r}")
        super().__init__(alpha, center_radius)
        self.strategy, self.topk = strategy, topk
        self.regress_ranges: dict[int, tuple] = {}

    def bind_levels(self, strides, regress_ranges) -> None:
        """The FCOS strategy needs the head's levels: its strides and regress ranges."""
        self.regress_ranges = {int(s): tuple(r) for s, r in zip(strides, regress_ranges, strict=True)}

    def match(self, priors: Tensor, gt: InstanceData, iou: Tensor, quality: Tensor, inside: Tensor):
        points, strides = priors[:, :2], priors[:, 2]
        if self.strategy == "fcos":
            positive = fcos_candidates(points, strides, gt.bboxes, self.regress_ranges, self.center_radius,
                                       gt.get("centres"))
            owner = smallest_box_owner(positive, gt.bboxes)
            matched = owner >= 0
            best = quality.gather(1, owner.clamp(min=0)[:, None])[:, 0]
            return owner, torch.where(matched, best, 0.0), matched
        if self.strategy == "atss":
            positive = atss_candidates(quality, strides, self.topk) & inside
        else:
            positive = topk_candidates(quality * inside, self.topk) & inside
        ranked = torch.where(positive, quality + 1e-6, 0.0)  # +eps: a positive of quality 0 still counts
        best, owner = ranked.max(dim=1)
        matched = best > 0
        return torch.where(matched, owner, -1), best, matched
