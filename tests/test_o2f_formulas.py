"""Eq. 1, the top-K selection, Eq. 3 and Eq. 4 against numbers computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from o2f.assigners.selection import select_one_to_few
from o2f.models.losses import SoftLabelFocalLoss
from o2f.models.matching import centre_region_mask, matching_score
from o2f.models.soft_labels import dynamic_soft_labels, temperature


def test_matching_score_multiply_and_add():
    p, iou, inside = torch.tensor([0.25, 0.25]), torch.tensor([0.5, 0.5]), torch.tensor([True, False])
    # 0.25^0.2 * 0.5^0.8 = exp(0.2 ln 0.25 + 0.8 ln 0.5) = exp(-0.831777) = 0.435275
    assert matching_score(p, iou, inside, 0.8, "multiply").tolist() == pytest.approx([0.435275, 0.0], abs=1e-6)
    assert matching_score(p, iou, inside, 0.8, "add").tolist() == pytest.approx([0.2 * 0.25 + 0.8 * 0.5, 0.0])
    # alpha = 0 ranks by the score alone, alpha = 1 by IoU alone (Table 4's extremes)
    assert matching_score(p, iou, inside, 0.0)[0] == pytest.approx(0.25)
    assert matching_score(p, iou, inside, 1.0)[0] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        matching_score(p, iou, inside, 0.8, "max")


def test_centre_region_is_clipped_to_the_box():
    box = torch.tensor([[0.0, 0.0, 100.0, 20.0]])  # centre (50, 10)
    points = torch.tensor([[50.0, 10.0], [61.0, 10.0], [63.0, 10.0], [50.0, 21.0], [50.0, 19.0]])
    strides = torch.full((5,), 8.0)  # radius 1.5 x 8 = 12 px: x in (38, 62), y in (0, 20) after clipping
    assert centre_region_mask(points, strides, box, 1.5)[:, 0].tolist() == [True, True, False, False, True]


SCORES = torch.tensor([[0.9, 0.0],
                       [0.6, 0.7],   # wanted by both objects: goes to object 1 (0.7 > 0.6)
                       [0.5, 0.0],
                       [0.0, 0.8],
                       [0.1, 0.2]])


def test_top_k_with_a_contested_anchor():
    owner, best, certain = select_one_to_few(SCORES, torch.tensor([4, 3]), k=3)
    assert owner.tolist() == [0, 1, 0, 1, 1]
    assert best.tolist() == pytest.approx([0.9, 0.7, 0.5, 0.8, 0.2])
    assert certain.tolist() == [True, False, False, True, False]


def test_losing_the_best_anchor_promotes_the_next_to_certain():
    scores = SCORES.clone()
    scores[3, 0] = 0.85  # object 0 now outbids object 1 for anchor 3, object 1's best
    owner, _, certain = select_one_to_few(scores, torch.tensor([4, 3]), k=4)
    assert owner.tolist() == [0, 1, 0, 0, 1]
    assert certain.nonzero().flatten().tolist() == [0, 1]  # object 1 falls back to anchor 1


def test_never_more_than_the_candidates_with_positive_iou():
    owner, _, certain = select_one_to_few(SCORES, torch.tensor([1, 0]), k=3)
    assert owner.tolist() == [0, -1, -1, -1, -1]  # object 1 has no candidate at all
    assert certain.tolist() == [True, False, False, False, False]


def test_temperature_schedule_first_middle_last_epoch():
    assert temperature(0, 12) == pytest.approx(0.6)
    assert temperature(6, 12) == pytest.approx(0.6 - 0.4 * 6 / 11)  # 0.381818
    assert temperature(11, 12) == pytest.approx(0.2)
    assert temperature(0, 1) == pytest.approx(0.6)


def test_dynamic_soft_labels_normalise_per_object():
    p = torch.tensor([0.2, 0.4, 0.3])
    owner = torch.tensor([0, 0, 1])
    t = dynamic_soft_labels(p, owner, 2, temperature(0, 12))
    assert t.tolist() == pytest.approx([0.3, 0.6, 0.6])
    t_last = dynamic_soft_labels(p, owner, 2, temperature(11, 12))
    assert t_last.tolist() == pytest.approx([0.1, 0.2, 0.2])


def test_soft_label_focal_loss_tiny_case():
    p = torch.tensor([[0.8, 0.5], [0.3, 0.2], [0.1, 0.4]])
    labels = torch.tensor([0, 1, -1])  # certain (class 0), ambiguous (class 1), negative
    targets = torch.tensor([1.0, 0.5, 0.0])
    weights = torch.tensor([1.0, 0.4, 0.0])

    def neg(q):  # 0.75 * q^2 * -ln(1 - q)
        return 0.75 * q * q * -math.log(1 - q)

    expected = (-math.log(0.8) + neg(0.5)                                    # certain: BCE(0.8, 1)
                + neg(0.3) + 0.4 * -(0.5 * math.log(0.2) + 0.5 * math.log(0.8))  # ambiguous: 0.4 BCE(0.2, .5)
                + neg(0.1) + neg(0.4)) / 2
    loss = SoftLabelFocalLoss()(p, labels, targets, weights, avg_factor=2)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
