"""Formulas against values worked out by hand (the working is in the comments), without mmdet's models
or mmcv's compiled ops: Eq. 5's box-loss weights (the authors' centerness weighting), the joint focal
loss of POTO and the auxiliary loss, and FCOS's own candidate selection (centre region, regress
range, smallest box)."""

from __future__ import annotations

import pytest
import torch

from o2f.assigners.selection import fcos_candidates, smallest_box_owner
from o2f.models.losses import JointFocalLoss
from o2f.models.matching import box_loss_weights, centerness_target


def test_centerness_target_by_hand():
    boxes = torch.tensor([[0.0, 0.0, 40.0, 100.0]] * 3)
    points = torch.tensor([[30.0, 20.0], [20.0, 50.0], [0.0, 50.0]])
    # (30, 20): l=30 r=10 t=20 b=80 -> sqrt(10/30 * 20/80) = sqrt(1/12) = 0.288675
    # (20, 50): the box centre -> sqrt(1 * 1) = 1;  (0, 50): on the left edge, l=0 -> 0
    assert centerness_target(points, boxes).tolist() == pytest.approx([0.288675, 1.0, 0.0], abs=1e-6)


def test_eq5_box_loss_weights_by_hand():
    # Object (0, 0, 24, 8); points (4, 4): l=4 r=20 t=4 b=4 -> sqrt(4/20 x 4/4) = sqrt(0.2) = 0.447214, and
    # (12, 4), its centre: 1. The authors' code weights each positive's box loss by these, the paper's text by 1.
    points, boxes = torch.tensor([[4.0, 4.0], [12.0, 4.0]]), torch.tensor([[0.0, 0.0, 24.0, 8.0]] * 2)
    assert box_loss_weights(points, boxes, "centerness").tolist() == pytest.approx([0.447214, 1.0], abs=1e-6)
    assert box_loss_weights(points, boxes, "uniform").tolist() == [1.0, 1.0]


def test_joint_focal_loss_by_hand():
    """Positives: (1 - 0.75) (1 - p)^2 BCE(p, 1); every other entry: 0.75 p^2 BCE(p, 0); sum / avg_factor."""
    p = torch.tensor([[0.8, 0.5], [0.3, 0.2], [0.1, 0.4]])
    labels = torch.tensor([0, 1, -1])  # anchor 0 positive for class 0, anchor 1 for class 1, anchor 2 negative
    ones = torch.ones(3)
    # positive (0, 0): 0.25 x 0.2^2 x -ln 0.8 = 0.25 x 0.04 x 0.223144 = 0.0022314
    # positive (1, 1): 0.25 x 0.8^2 x -ln 0.2 = 0.25 x 0.64 x 1.609438 = 0.2575101
    # negative (0, 1): 0.75 x 0.5^2 x -ln 0.5 = 0.75 x 0.25 x 0.693147 = 0.1299651
    # negative (1, 0): 0.75 x 0.3^2 x -ln 0.7 = 0.75 x 0.09 x 0.356675 = 0.0240756
    # negative (2, 0): 0.75 x 0.1^2 x -ln 0.9 = 0.75 x 0.01 x 0.105361 = 0.0007902
    # negative (2, 1): 0.75 x 0.4^2 x -ln 0.6 = 0.75 x 0.16 x 0.510826 = 0.0612991
    # sum 0.4758714, over avg_factor 2: 0.2379357
    loss = JointFocalLoss(neg_alpha=0.75, gamma=2.0)(p, labels, ones, ones, avg_factor=2)
    assert loss.item() == pytest.approx(0.2379357, rel=1e-5)


def test_fcos_candidates_and_the_smallest_box_by_hand():
    # Objects: big (0, 0, 100, 80), centre (50, 40), area 8000; small (40, 30, 60, 50), centre (50, 40), area 400.
    boxes = torch.tensor([[0.0, 0.0, 100.0, 80.0], [40.0, 30.0, 60.0, 50.0]])
    # Centre regions (radius 1.5 x stride, clipped to the box, border outside):
    #   big: stride 8 -> x in (38, 62), y in (28, 52); stride 16 -> x in (26, 74), y in (16, 64)
    #   small: both strides -> the box itself, x in (40, 60), y in (30, 50)
    # Regress ranges: stride 8 takes a largest side (max of l, t, r, b) in [-1, 64], stride 16 in [64, 128].
    points = torch.tensor([[50.0, 40.0], [50.0, 40.0], [30.0, 40.0], [39.0, 40.0], [30.0, 40.0], [38.0, 40.0]])
    strides = torch.tensor([8.0, 16.0, 16.0, 8.0, 8.0, 8.0])
    positive = fcos_candidates(points, strides, boxes, {8: (-1, 64), 16: (64, 128)}, radius=1.5)
    assert positive.tolist() == [
        [True, True],     # (50, 40) s8: big side 50 <= 64; small side 10: positive for both
        [False, False],   # (50, 40) s16: sides 50 and 10 are below 64: the range rejects it
        [True, False],    # (30, 40) s16: big l=30 r=70 -> 70 in [64, 128]; outside the small box
        [True, False],    # (39, 40) s8: big r=61 <= 64, inside (38, 62); x 39 < 40: outside small
        [False, False],   # (30, 40) s8: inside the big box but not its centre region (38, 62)
        [False, False],   # (38, 40) s8: on the border of big's centre region: outside
    ]
    # An anchor of both objects goes to the smaller (area 400 < 8000); -1 where none.
    assert smallest_box_owner(positive, boxes).tolist() == [1, -1, 0, 0, -1, -1]
