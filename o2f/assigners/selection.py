"""Which anchors each assigner picks, as plain tensor functions of (anchor, object) scores: the
formulas the assigners apply, testable without mmdet's models (or mmcv's compiled ops)."""

from __future__ import annotations

import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from ..models.matching import centre_region_mask


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


def hungarian(quality: Tensor) -> tuple[Tensor, Tensor]:
    """Anchor and object indices of the one-to-one matching that maximises total ``quality`` (A, G)."""
    anchors, objects = linear_sum_assignment(quality.detach().float().cpu().numpy(), maximize=True)
    return torch.as_tensor(anchors, device=quality.device), torch.as_tensor(objects, device=quality.device)


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
