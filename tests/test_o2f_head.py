"""The one-to-few head end to end: sane targets in edge cases, losses, the T hook after a resume."""

from __future__ import annotations

import pytest
import torch
from helpers import Interrupt, KillAfterEpoch, Probe
from mmengine.structures import InstanceData

pytest.importorskip("mmcv.ops")

import o2f.plugin  # noqa: E402,F401
from o2f.models.o2f_head import O2FHead  # noqa: E402
from o2f.models.soft_labels import temperature  # noqa: E402
from o2f.pipeline.config import load_config  # noqa: E402
from o2f.pipeline.train import build_runner  # noqa: E402

O2F = "configs/o2f/o2f_r50_fpn_1x_coco.py"
K = 7


def small_head(**assigner) -> O2FHead:
    return O2FHead(num_classes=3, in_channels=16, feat_channels=16, stacked_convs=1, strides=[8, 16],
                   norm_cfg=dict(type="GN", num_groups=4, requires_grad=True), num_obj_convs=2,
                   train_cfg=dict(assigner=dict(type="OneToFewAssigner", topk=K, **assigner)))


def random_objects(num: int, size: int = 128, seed: int = 0) -> InstanceData:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(num, 2, generator=g) * (size - 20)
    wh = 4 + torch.rand(num, 2, generator=g) * 40
    boxes = torch.cat([xy, (xy + wh).clamp(max=size)], 1)
    return InstanceData(bboxes=boxes, labels=torch.randint(0, 3, (num,), generator=g))


def targets_for(head: O2FHead, gt: InstanceData, size: int = 128):
    priors = torch.cat(head.prior_generator.grid_priors([(size // 8, size // 8), (size // 16, size // 16)],
                                                        device="cpu", with_stride=True))
    g = torch.Generator().manual_seed(1)
    joint = torch.rand(len(priors), 3, generator=g)
    # predicted boxes: 24 px squares around each point, so IoU > 0 near the objects
    boxes = torch.cat([priors[:, :2] - 12, priors[:, :2] + 12], 1)
    return head.get_targets_single(priors, joint, boxes, gt)


@pytest.mark.parametrize("num_objects", [0, 1, 5, 300])
def test_targets_are_sane(num_objects):
    head = small_head()
    head.set_epoch(3, 12)
    gt = random_objects(num_objects)
    labels, targets, weights, gt_boxes = targets_for(head, gt)
    positive = labels >= 0
    assert labels.max() < 3 and ((targets >= 0) & (targets <= 1)).all()
    assert (targets[~positive] == 0).all() and (weights[~positive] == 0).all()
    assert ((weights[positive] == 1.0) | (weights[positive] == 0.4)).all()
    assert (targets[weights == 1.0] == 1).all()  # certain anchors are fully positive
    if num_objects == 0:
        assert not positive.any()
        return
    # every non-negative anchor's box is one of the objects; no object has more than K anchors
    owners = (gt_boxes[positive][:, None] == gt.bboxes[None]).all(-1).float().argmax(1)
    per_object = torch.bincount(owners, minlength=num_objects)
    assert per_object.max() <= K
    certain_per_object = torch.bincount(owners[weights[positive] == 1.0], minlength=num_objects)
    assert (certain_per_object == (per_object > 0).long()).all()  # one certain anchor per matched object
    ambiguous = positive & (weights == 0.4)
    if ambiguous.any():  # Eq. 3: the best ambiguous anchor of each object gets exactly T
        assert targets[ambiguous].max() == pytest.approx(temperature(3, 12))


def test_few_candidates_keep_fewer_anchors():
    head = small_head()
    tiny = InstanceData(bboxes=torch.tensor([[58.0, 58.0, 66.0, 66.0]]), labels=torch.tensor([1]))
    labels, _, weights, _ = targets_for(head, tiny)
    assert (labels >= 0).sum() == 1  # only the point (60, 60) lies inside this 8 px box
    assert (weights == 1.0).sum() == 1


def test_paper_convention_keeps_one_more_anchor():
    gt = InstanceData(bboxes=torch.tensor([[20.0, 20.0, 100.0, 100.0]]), labels=torch.tensor([0]))  # 18 candidates
    code = (targets_for(small_head(), gt)[0] >= 0).sum()
    paper = (targets_for(small_head(topk_includes_certain=False), gt)[0] >= 0).sum()
    assert code == K and paper == K + 1


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
def test_eq5_box_loss_in_the_head_weights_each_positive_by_its_centerness(bbox_weighting, expected):
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


def test_loss_is_finite_and_trains_both_branches_without_objects():
    head = small_head()
    feats = [torch.randn(2, 16, 16, 16), torch.randn(2, 16, 8, 8)]
    cls, reg, obj = head(feats)
    gts = [random_objects(4), random_objects(0)]
    losses = head.loss_by_feat(cls, reg, obj, gts, [{"img_shape": (128, 128)}] * 2)
    total = losses["loss_cls"] + losses["loss_bbox"]
    assert torch.isfinite(total)
    total.backward()
    assert head.conv_objectness.weight.grad.abs().sum() > 0 and head.conv_cls.weight.grad.abs().sum() > 0


def test_a_checkpoint_naming_the_objectness_output_conv_centerness_loads_its_weights():
    saved = {(k.replace("conv_objectness", "conv_centerness")): v for k, v in small_head().state_dict().items()}
    head = small_head()
    head.load_state_dict(saved)  # strict: nothing missing, nothing left over
    assert torch.equal(head.conv_objectness.weight, saved["conv_centerness.weight"])
    # FCOS's order (conv_reg, conv_centerness, scales): an optimizer state saved before the rename fits
    names = [name for name, _ in head.named_parameters()]
    assert names[names.index("conv_reg.bias") + 1:][:3] == ["conv_objectness.weight", "conv_objectness.bias",
                                                            "scales.0.scale"]


@pytest.mark.parametrize("num_convs", [1, 3])
def test_objectness_branch_depth(num_convs):
    head = O2FHead(num_classes=1, in_channels=16, feat_channels=16, stacked_convs=1, strides=[8],
                   norm_cfg=dict(type="GN", num_groups=4, requires_grad=True), num_obj_convs=num_convs)
    assert len(head.obj_convs) == num_convs
    assert head.obj_convs[-1].conv.out_channels == 64 and head.conv_objectness.in_channels == 64


@pytest.mark.slow
def test_hook_gives_the_head_the_right_temperature_after_resume(repo_root, in_tmp_with_data):
    overrides = {"train_cfg.max_epochs": 3, "param_scheduler.1.T_max": 3, "param_scheduler.1.end": 3}
    work = in_tmp_with_data / "work"
    first, first_probe = build_runner(load_config(repo_root / O2F, "ci", overrides), work), Probe()
    first.register_hook(KillAfterEpoch(1))
    first.register_hook(first_probe)
    with pytest.raises(Interrupt):
        first.train()
    second, probe = build_runner(load_config(repo_root / O2F, "ci", overrides), work), Probe()
    second.register_hook(probe)
    second.train()
    assert first_probe.temperatures == [pytest.approx(0.6)]
    assert probe.trained_epochs == [2, 3]
    assert probe.temperatures == [pytest.approx(0.4), pytest.approx(0.2)]
