"""Soft labels of the ambiguous anchors: the T schedule and Eq. 3, in one place."""

from __future__ import annotations

import torch
from torch import Tensor


def temperature(epoch: int, max_epochs: int, t_max: float = 0.6, t_min: float = 0.2) -> float:
    """T of Eq. 3 for a 0-based ``epoch``: T_max in the first epoch, falling linearly to T_min in the last."""
    if max_epochs <= 1:
        return t_max
    epoch = min(max(epoch, 0), max_epochs - 1)
    return t_max + (t_min - t_max) * epoch / (max_epochs - 1)


def dynamic_soft_labels(p: Tensor, owner: Tensor, num_objects: int, t: float) -> Tensor:
    """Eq. 3: t_i = p_i / max_k p_k * T, the max over the ambiguous anchors of the same object.

    ``p`` (N,) joint scores of ambiguous anchors at their object's class, ``owner`` (N,) object indices.
    """
    if p.numel() == 0:
        return p.new_zeros(0)
    peak = p.new_zeros(num_objects).scatter_reduce(0, owner, p, reduce="amax", include_self=False)
    return p / peak[owner].clamp(min=torch.finfo(p.dtype).tiny) * t
