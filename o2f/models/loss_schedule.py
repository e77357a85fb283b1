"""ProgLoss (YOLO26, Ultralytics 2025-26): supervision moves from the one-to-many branch to the one-to-one
branch over training, each loss weight linear in the training's progress (its iteration over all of them);
the weights at both ends are the config's (configs/poto/progloss_r50_fpn_1x_coco.py)."""

from __future__ import annotations


def linear_weight(start: float, end: float, progress: float) -> float:
    """The weight at ``progress`` (0 at the first iteration, 1 after the last), linear from start to end."""
    progress = min(max(progress, 0.0), 1.0)
    return (1.0 - progress) * start + progress * end
