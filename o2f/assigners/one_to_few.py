"""One-to-few assignment (section 3.2-3.3): one certain anchor and a few ambiguous anchors per object.

Vectorised over anchors and objects: the per-object top-K is one ``topk`` over the (anchors x
objects) score matrix, and conflicts are one ``max`` over objects.
"""

from __future__ import annotations

import torch
from mmdet.registry import TASK_UTILS
from mmengine.structures import InstanceData
from torch import Tensor

from .base import QualityAssigner


def select_one_to_few(score: Tensor, num_candidates: Tensor, k: int) -> tuple[Tensor, Tensor, Tensor]:
    """Top-``k`` anchors per object by ``score`` (A, G), at most ``num_candidates`` (G,) each.

    An anchor kept by several objects belongs to the one that scores it highest; each object's best
    remaining anchor is its certain one. Returns owner (A,) object index or -1, the owner's score
    (A,) and the certain mask (A,).
    """
    num_anchors = score.size(0)
    k = min(k, num_anchors)
    top_scores, top_idx = score.topk(k, dim=0)  # (k, G)
    ranks = torch.arange(k, device=score.device)[:, None]
    chosen = (ranks < num_candidates.clamp(max=k)[None]) & (top_scores > 0)
    kept = torch.zeros_like(score).scatter_(0, top_idx, top_scores * chosen)

    best, owner = kept.max(dim=1)
    positive = best > 0
    owned = torch.zeros_like(score)
    owned[positive, owner[positive]] = best[positive]
    top_owned, certain_idx = owned.max(dim=0)
    certain = torch.zeros(num_anchors, dtype=torch.bool, device=score.device)
    certain[certain_idx[top_owned > 0]] = True
    return torch.where(positive, owner, -1), best, certain


@TASK_UTILS.register_module()
class OneToFewAssigner(QualityAssigner):
    """Rank anchors by Eq. 1 per object, keep the top ones, give contested anchors to the best object.

    Args:
        topk: anchors kept per object, never more than its candidates with IoU > 0.
        topk_includes_certain: True (the authors' code, default) keeps ``topk`` anchors in all, the
            certain one included (K=7: 1 certain + 6 ambiguous); False (the paper's wording) keeps
            the certain one plus ``topk`` ambiguous ones.
        alpha, mode: Eq. 1's exponent and its "multiply"/"add" form (Table 4).
        center_radius: the centre region, in strides of the anchor's level, clipped to the box.

    The extra property ``certain`` marks each object's certain anchor; the others kept are ambiguous.
    """

    def __init__(self, topk: int = 7, topk_includes_certain: bool = True, alpha: float = 0.8,
                 mode: str = "multiply", center_radius: float = 1.5) -> None:
        super().__init__(alpha, center_radius, mode)
        self.topk = topk
        self.topk_includes_certain = topk_includes_certain

    @property
    def anchors_per_object(self) -> int:
        return self.topk if self.topk_includes_certain else self.topk + 1

    def match(self, priors: Tensor, gt: InstanceData, iou: Tensor, quality: Tensor, inside: Tensor):
        """Only anchors in the centre region count, as candidates and as the objects' K cap."""
        return select_one_to_few(quality * inside, ((iou > 0) & inside).sum(0), self.anchors_per_object)
