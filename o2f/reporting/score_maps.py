"""Figure 6 as a number: how many anchors around each object score near the object's peak.

The paper shows one-to-few's joint score map dense around each object after the first epoch and sparse
after the last (dynamic soft labels fading to one-to-one). The count below reads that from the maps the
figure draws (``ScoreMapHook``: one validation image, every FPN level): for each object, the anchors whose
centre lies in its box, on any level, with a joint score at least ``DENSE_SHARE`` of the highest joint
score among them. numpy only: the report imports it without torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DENSE_SHARE = 0.5  # "near the peak": at least half the object's highest joint score
PRIOR_OFFSET = 0.5  # anchor centres at (index + 0.5) x stride, as mmdet's MlvlPointGenerator places them


def epoch_files(folder: Path) -> list[Path]:
    """A run's ``epoch_<E>.npz`` maps in epoch order."""
    return sorted(folder.glob("epoch_*.npz"), key=lambda path: int(path.stem.split("_")[1]))


def anchor_scores(maps) -> tuple[np.ndarray, np.ndarray]:
    """Every level's anchor centres (N x 2, x then y, network-input pixels) and joint scores (N)."""
    centres, scores = [], []
    for level, stride in enumerate(int(s) for s in maps["strides"]):
        score = np.asarray(maps[f"score_{level}"], dtype=float)
        ys, xs = np.meshgrid((np.arange(score.shape[0]) + PRIOR_OFFSET) * stride,
                             (np.arange(score.shape[1]) + PRIOR_OFFSET) * stride, indexing="ij")
        centres.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        scores.append(score.ravel())
    return np.concatenate(centres), np.concatenate(scores)


def dense_anchors(maps, share: float = DENSE_SHARE) -> np.ndarray:
    """Per object of the maps' image: the anchors in its box scoring at least ``share`` of the box's peak
    (NaN for an object no anchor centre falls in)."""
    centres, scores = anchor_scores(maps)
    counts = []
    for x1, y1, x2, y2 in np.asarray(maps["gt_bboxes"], dtype=float).reshape(-1, 4):
        inside = ((centres[:, 0] >= x1) & (centres[:, 0] <= x2) & (centres[:, 1] >= y1) & (centres[:, 1] <= y2))
        if not inside.any():
            counts.append(np.nan)
            continue
        near = scores[inside]
        counts.append(float((near >= share * near.max()).sum()))
    return np.array(counts)


def mean_over(counts: np.ndarray, objects: np.ndarray | None = None) -> float:
    """The mean count over ``objects`` (indices, repeats allowed; all objects when None), NaNs left out."""
    picked = counts if objects is None else counts[objects]
    kept = picked[~np.isnan(picked)]
    return float(kept.mean()) if kept.size else float("nan")
