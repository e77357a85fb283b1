"""One-to-few assignment (section 3.2-3.3): one certain anchor and a few ambiguous anchors per object.

Vectorised over anchors and objects: the per-object top-K is one ``topk`` over the (anchors x
objects) score matrix, and conflicts are one ``max`` over objects.
"""

from __future__ import annotations

from mmdet.registry import TASK_UTILS
from mmengine.structures import InstanceData
from torch import Tensor

from .base import QualityAssigner
from .selection import select_one_to_few


@TASK_UTILS.register_module()
class OneToFewAssigner(QualityAssigner):
    """Rank anchors by Eq. 1 per object, keep the top ones, give contested anchors to the best object.

    Args:
        topk: anchors kept per object, never more than its candidates with IoU > 0.
        topk_includes_certain: True (the authors' code, default) keeps ``topk`` anchors in all, the
            certain one included (K=7: 1 certain + 6 ambiguous); False (the paper's wording) keeps
            the certain one plus ``topk`` ambiguous ones.
        alpha, combine: Eq. 1's exponent and how it combines score and IoU, "multiply" or "add" (Table 4).
        center_radius: the centre region, in strides of the anchor's level, clipped to the box.

    The extra property ``certain`` marks each object's certain anchor; the others kept are ambiguous.
    """

    def __init__(self, topk: int = 7, topk_includes_certain: bool = True, alpha: float = 0.8,
                 combine: str = "multiply", center_radius: float = 1.5) -> None:
        super().__init__(alpha, center_radius, combine)
        self.topk = topk
        self.topk_includes_certain = topk_includes_certain

    @property
    def anchors_per_object(self) -> int:
        return self.topk if self.topk_includes_certain else self.topk + 1

    def match(self, priors: Tensor, gt: InstanceData, iou: Tensor, quality: Tensor, inside: Tensor):
        """Only anchors in the centre region count, as candidates and as the objects' K cap."""
        return select_one_to_few(quality * inside, ((iou > 0) & inside).sum(0), self.anchors_per_object)
