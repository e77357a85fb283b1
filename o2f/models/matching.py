"""The prediction-aware matching score (Eq. 1) and the centre-region prior, shared by every assigner.

One-to-few, POTO and the auxiliary one-to-many assigners all rank anchors by this score; keeping it
in one place keeps their tables comparable.
"""

from __future__ import annotations

import torch
from torch import Tensor


def centre_region_mask(points: Tensor, strides: Tensor, gt_boxes: Tensor, radius: float = 1.5,
                       centres: Tensor | None = None) -> Tensor:
    """(A, G) bool: anchor point inside the object's centre region.

    The region is the object's centre +- ``radius`` x the anchor's own level stride, clipped to the box;
    a point on its border is outside (distances must be strictly positive). ``centres`` (G, 2) replaces
    the box centres, e.g. by the masks' centres of mass for instance segmentation.
    """
    if centres is None:
        centres = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2  # (G, 2)
    half = radius * strides[:, None, None]  # (A, 1, 1)
    lo = torch.maximum(centres[None] - half, gt_boxes[None, :, :2])  # (A, G, 2)
    hi = torch.minimum(centres[None] + half, gt_boxes[None, :, 2:])
    p = points[:, None, :]
    return ((p - lo) > 0).all(-1) & ((hi - p) > 0).all(-1)


def mask_centroids(masks: Tensor, gt_boxes: Tensor) -> Tensor:
    """(G, 2) centre of mass (x, y) of each (G, H, W) mask: CondInst centres Eq. 1's region on it.

    Pixel (row i, column j) counts at (j, i), as in the authors' code and mmdet's CondInst; an empty
    mask (cropped away) falls back to its box centre.
    """
    columns = masks.sum(-2, dtype=gt_boxes.dtype)  # (G, W): no float copy of the full masks
    rows = masks.sum(-1, dtype=gt_boxes.dtype)  # (G, H)
    area = rows.sum(-1)
    xs = torch.arange(columns.size(-1), dtype=gt_boxes.dtype, device=masks.device)
    ys = torch.arange(rows.size(-1), dtype=gt_boxes.dtype, device=masks.device)
    centroid = torch.stack([(columns * xs).sum(-1), (rows * ys).sum(-1)], -1) / area.clamp(min=1)[:, None]
    box_centres = (gt_boxes[:, :2] + gt_boxes[:, 2:]) / 2
    return torch.where(area[:, None] > 0, centroid, box_centres)


def matching_score(p: Tensor, iou: Tensor, inside: Tensor | None = None, alpha: float = 0.8,
                   combine: str = "multiply") -> Tensor:
    """Eq. 1: S = 1[inside] * p^(1-alpha) * IoU^alpha, or the "add" form (1-alpha) p + alpha IoU (Table 4).

    ``p`` is the detached joint score at each object's class, ``iou`` between predicted box and object;
    without ``inside`` the score is left unmasked (the assigners mask it where their authors do).
    """
    if combine == "multiply":
        score = p.pow(1 - alpha) * iou.pow(alpha)
    elif combine == "add":
        score = (1 - alpha) * p + alpha * iou
    else:
        raise ValueError(f"Eq. 1 combines by 'multiply' or 'add', got {combine!r}")
    return score if inside is None else score * inside


def centerness_target(points: Tensor, boxes: Tensor) -> Tensor:
    """FCOS centerness of each point inside its box: sqrt(min(l,r)/max(l,r) * min(t,b)/max(t,b))."""
    lt = points - boxes[:, :2]
    rb = boxes[:, 2:] - points
    ratio = torch.minimum(lt, rb) / torch.maximum(lt, rb).clamp(min=1e-6)
    return ratio.clamp(min=0).prod(-1).sqrt()


def box_loss_weights(points: Tensor, boxes: Tensor, weighting: str = "centerness") -> Tensor:
    """Eq. 5's weight of each positive's box loss, normalised by their sum: the centerness of its point
    in its object's box (the authors' code) or 1 (``uniform``, the paper's text)."""
    if weighting == "centerness":
        return centerness_target(points, boxes)
    return torch.ones_like(points[:, 0])
