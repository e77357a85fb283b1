"""Classification loss of Eq. 4 on the joint score, in the form the authors' code trains with."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


def negative_focal_term(p: Tensor, gamma: float, alpha: float) -> Tensor:
    """``alpha * p^gamma * BCE(p, 0)`` on every entry: the focal loss of a negative, on probabilities."""
    return F.binary_cross_entropy(p, torch.zeros_like(p), reduction="none") * p.pow(gamma) * alpha


@MODELS.register_module()
class SoftLabelFocalLoss(nn.Module):
    """BCE(p, t) * w on each non-negative anchor's own class, a focal term on everything else.

    Eq. 4: certain anchors get BCE(p, 1) (w = 1), ambiguous anchors BCE(p, t_i) (w = 0.4 in the
    authors' code, 1 in the paper's text), and every other (anchor, class) entry the negative focal
    term ``neg_alpha * p^gamma * BCE(p, 0)``. ``p`` are probabilities (the joint score), not logits.
    """

    def __init__(self, neg_alpha: float = 0.75, gamma: float = 2.0, loss_weight: float = 1.0,
                 use_sigmoid: bool = True) -> None:
        super().__init__()
        if not use_sigmoid:
            raise ValueError("SoftLabelFocalLoss works on sigmoid (joint) scores only")
        self.neg_alpha = neg_alpha
        self.gamma = gamma
        self.loss_weight = loss_weight

    def forward(self, p: Tensor, labels: Tensor, targets: Tensor, weights: Tensor, avg_factor: float) -> Tensor:
        """``p`` (N, C); ``labels`` (N,) class of non-negative anchors, -1 otherwise; ``targets`` and
        ``weights`` (N,) soft label and weight of non-negative anchors. Returns the sum / ``avg_factor``."""
        p = p.float().clamp(0, 1)
        loss = negative_focal_term(p, self.gamma, self.neg_alpha)
        anchors = (labels >= 0).nonzero(as_tuple=True)[0]
        classes = labels[anchors]
        p_pos = p[anchors, classes]
        positive = F.binary_cross_entropy(p_pos, targets[anchors].float(), reduction="none")
        loss = loss.index_put((anchors, classes), positive * weights[anchors] * self.positive_factor(p_pos))
        return self.loss_weight * loss.sum() / avg_factor

    def positive_factor(self, p: Tensor) -> Tensor | float:
        return 1.0


@MODELS.register_module()
class JointFocalLoss(SoftLabelFocalLoss):
    """Sigmoid focal loss on probabilities (POTO and the auxiliary loss): positives carry
    ``(1 - neg_alpha) * (1 - p)^gamma``, negatives ``neg_alpha * p^gamma`` (alpha = 0.25 in focal terms)."""

    def positive_factor(self, p: Tensor) -> Tensor:
        return (1 - self.neg_alpha) * (1 - p).pow(self.gamma)
