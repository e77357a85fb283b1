"""Formulas against values worked out by hand (the working is in the comments): Eq. 5's box loss with
the authors' centerness weighting, the joint focal loss of POTO and the auxiliary loss, and FCOS's
own candidate selection (centre region, regress range, smallest box)."""

from __future__ import annotations

import pytest
import torch
from mmengine.structures import InstanceData

pytest.importorskip("mmcv.ops")

from o2f.assigners.one_to_many import fcos_candidates, smallest_box_owner  # noqa: E402
from o2f.models.losses import JointFocalLoss  # noqa: E402
from o2f.models.o2f_head import O2FHead, centerness_target  # noqa: E402


def test_centerness_target_by_hand():
    boxes = torch.tensor([[0.0, 0.0, 40.0, 100.0]] * 3)
    points = torch.tensor([[30.0, 20.0], [20.0, 50.0], [0.0, 50.0]])
    # (30, 20): l=30 r=10 t=20 b=80 -> sqrt(10/30 * 20/80) = sqrt(1/12) = 0.288675
    # (20, 50): the box centre -> sqrt(1 * 1) = 1;  (0, 50): on the left edge, l=0 -> 0
    assert centerness_target(points, boxes).tolist() == pytest.approx([0.288675, 1.0, 0.0], abs=1e-6)


def one_level_head(bbox_weighting: str) -> O2FHead:
    """One class, one level of stride 8 with every box in range; no extra objectness convs."""
    return O2FHead(num_classes=1, in_channels=8, feat_channels=8, stacked_convs=1, strides=(8,),
                   regress_ranges=((-1, 1e8),), num_obj_convs=0, bbox_weighting=bbox_weighting,
                   norm_cfg=dict(type="GN", num_groups=4, requires_grad=True))


@pytest.mark.parametrize("bbox_weighting, expected", [
    # Two positives of the object (0, 0, 24, 8) on a 1 x 2 map of stride 8: points (4, 4) and (12, 4).
    # Anchor 0 predicts the object exactly: GIoU loss 1 - 1 = 0. Anchor 1 predicts (0, 0, 12, 8):
    # IoU = 96 / 192 = 0.5, the enclosing box is the object's, so GIoU = 0.5 and the loss 1 - 0.5 = 0.5.
    # Centerness: (4, 4): l=4 r=20 t=4 b=4 -> sqrt(4/20 * 1) = sqrt(0.2) = 0.447214; (12, 4): 1.
    # Authors' code: loss_weight 2 x (0.447214 x 0 + 1 x 0.5) / (0.447214 + 1) = 1 / 1.447214 = 0.690983.
    ("centerness", 0.690983),
    # The paper's Eq. 5 (every positive alike), averaged over the 2 positives: 2 x (0 + 0.5) / 2 = 0.5.
    ("uniform", 0.5),
])
def test_eq5_box_loss_weights_each_positive_by_its_centerness(bbox_weighting, expected):
    head = one_level_head(bbox_weighting)
    ones = torch.ones(2)
    # Both anchors positive for object 0 (class 0), as an assigner would say; the box loss is under test.
    head.assign_single = lambda priors, joint, boxes, gt: (torch.zeros(2, dtype=torch.long), ones, ones,
                                                           torch.zeros(2, dtype=torch.long))
    distances = torch.tensor([[4.0, 4.0, 20.0, 4.0],     # (4, 4) - (l, t) .. + (r, b) = (0, 0, 24, 8)
                              [12.0, 4.0, 0.0, 4.0]])    # (12, 4) -> (0, 0, 12, 8)
    bbox_preds = [distances.T.reshape(1, 4, 1, 2)]
    cls_scores, objectness = [torch.zeros(1, 1, 1, 2)], [torch.zeros(1, 1, 1, 2)]
    gt = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 24.0, 8.0]]), labels=torch.tensor([0]))
    losses, _ = head.dense_losses(cls_scores, bbox_preds, objectness, [gt])
    assert losses["loss_bbox"].item() == pytest.approx(expected, rel=1e-5)


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
