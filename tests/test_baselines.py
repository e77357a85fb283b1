"""POTO's Hungarian matching, 3D max filtering, the one-to-many assigners, Hybrid-Epoch, every config."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

pytest.importorskip("mmcv.ops")

import o2f.plugin  # noqa: E402,F401
from o2f.assigners.one_to_many import (  # noqa: E402
    OneToManyAssigner,  # noqa: E402
    atss_candidates,
    topk_candidates,
)
from o2f.assigners.poto import (
    POTOAssigner,  # noqa: E402
    hungarian,  # noqa: E402
)
from o2f.models.max_filter import MaxFilter3D, WholeStackMaxFilter3D  # noqa: E402
from o2f.models.o2f_head import POTOHead  # noqa: E402
from o2f.pipeline.config import load_config  # noqa: E402
from o2f.pipeline.train import build_runner  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
EXPERIMENT_CONFIGS = sorted(p.relative_to(REPO) for p in REPO.glob("configs/*/*.py")
                            if p.parent.name not in ("_base_", "_scales_"))


def test_hungarian_maximises_total_quality():
    quality = torch.tensor([[0.9, 0.8, 0.0],
                            [0.85, 0.1, 0.0],
                            [0.0, 0.7, 0.3],
                            [0.2, 0.0, 0.6]])
    anchors, objects = hungarian(quality)
    best = max(sum(quality[a, o] for a, o in zip(perm, range(3), strict=False))
               for perm in itertools.permutations(range(4), 3))
    assert quality[anchors, objects].sum() == pytest.approx(float(best))  # 0.85 + 0.8 + 0.6 (greedy: 0.9 + 0.7 + 0.6)
    assert sorted(objects.tolist()) == [0, 1, 2] and len(set(anchors.tolist())) == 3


def test_poto_one_positive_per_object_inside_its_centre_region():
    priors = torch.tensor([[x + 4.0, y + 4.0, 8.0, 8.0] for y in range(0, 64, 8) for x in range(0, 64, 8)])
    gt = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 30.0, 30.0], [20.0, 20.0, 60.0, 60.0]]),
                      labels=torch.tensor([0, 0]))
    scores = torch.rand(len(priors), 1, generator=torch.Generator().manual_seed(0))
    boxes = torch.cat([priors[:, :2] - 12, priors[:, :2] + 12], 1)
    result = POTOAssigner().assign(InstanceData(priors=priors, scores=scores, bboxes=boxes), gt)
    assert sorted(result.gt_inds[result.gt_inds > 0].tolist()) == [1, 2]
    for obj, (x1, y1, x2, y2) in enumerate(gt.bboxes.tolist(), start=1):
        x, y = priors[result.gt_inds == obj, :2][0].tolist()
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        assert abs(x - cx) < 12 and abs(y - cy) < 12  # 1.5 x stride 8 around the centre


def test_poto_scores_anchors_outside_the_region_minus_one_and_keeps_every_match():
    """DeFCN's get_ground_truth: quality -1 outside the centre region, every solver match kept."""
    # 3 anchors x 2 objects; object 0's region holds anchors 0 and 1, object 1's only anchor 0
    quality = torch.tensor([[0.9, 0.8], [0.05, 0.0], [0.0, 0.0]])
    inside = torch.tensor([[True, True], [True, False], [False, False]])
    owner, best, certain = POTOAssigner().match(None, None, None, quality, inside)
    # with -1 outside: 0.8 + 0.05 = 0.85 beats 0.9 + (-1); object 1 takes anchor 0, object 0 anchor 1
    # (scored 0 outside and matches <= 0 dropped, object 1 would get no anchor: 0.9 + 0 >= 0.85)
    assert owner.tolist() == [1, 0, -1] and certain.tolist() == [True, True, False]
    assert best.tolist() == pytest.approx([0.8, 0.05, 0.0])
    # an object with no anchor in its region still gets one (DeFCN keeps the solver's -1 match)
    owner, _, _ = POTOAssigner().match(None, None, None, torch.tensor([[0.3], [0.6]]),
                                       torch.tensor([[False], [False]]))
    assert (owner >= 0).sum() == 1


def test_centre_radius_zero_makes_the_whole_box_the_region():
    """DeFCN's CrowdHuman POTO (CENTER_SAMPLING_RADIUS=0.0): every anchor inside the box is a candidate."""
    priors = torch.tensor([[20.0, 20.0, 8.0, 8.0], [36.0, 36.0, 8.0, 8.0], [44.0, 20.0, 8.0, 8.0]])
    gt = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 40.0, 40.0]]))
    # radius 1.5 x stride 8 around the centre (20, 20): only (20, 20); the whole box also holds (36, 36)
    assert POTOAssigner(center_radius=1.5).region_mask(priors, gt)[:, 0].tolist() == [True, False, False]
    assert POTOAssigner(center_radius=0.0).region_mask(priors, gt)[:, 0].tolist() == [True, True, False]


def test_max_filter_keeps_one_peak_across_levels():
    module = MaxFilter3D(channels=32)
    feats = [torch.randn(2, 32, s, s) for s in (16, 8, 4)]
    assert [o.shape for o in module(feats)] == [f.shape for f in feats]

    module.conv, module.norm = torch.nn.Identity(), torch.nn.Identity()  # look at the max filter alone
    levels = [torch.zeros(1, 1, s, s) for s in (8, 8, 8)]
    levels[1][0, 0, 4, 4] = 5.0
    pooled = [out - inp for out, inp in zip(module(levels), levels, strict=True)]  # inputs are >= 0
    for level in range(3):  # the peak's 3x3 neighbourhood, on its own and the adjacent levels
        assert (pooled[level][0, 0, 3:6, 3:6] == 5.0).all()
        assert pooled[level][0, 0, 0, 0] == 0.0
    is_local_max = [(p == inp) & (inp > 0) for p, inp in zip(pooled, levels, strict=True)]
    assert sum(int(m.sum()) for m in is_local_max) == 1 and is_local_max[1][0, 0, 4, 4]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_max_filter_pools_exactly_as_defcn_ties_included(dtype):
    module, defcn = MaxFilter3D(channels=8, norm_groups=2).to(dtype), WholeStackMaxFilter3D(channels=8, norm_groups=2)
    module.conv = defcn.conv = torch.nn.Identity()  # compare the pooling alone
    defcn.norm = module.norm
    torch.manual_seed(0)
    # small integers: many equal values in every window, so the gradient's routing among ties is tested
    values = [torch.randint(0, 3, (2, 8, s, s)).to(dtype) for s in (16, 8, 4, 2)]
    ours = [v.clone().requires_grad_() for v in values]
    theirs = [v.clone().requires_grad_() for v in values]
    out_ours, out_theirs = module(ours), defcn(theirs)
    weights = [torch.randn(o.shape).to(dtype) for o in out_ours]
    sum((o * w).sum() for o, w in zip(out_ours, weights, strict=True)).backward()
    sum((o * w).sum() for o, w in zip(out_theirs, weights, strict=True)).backward()
    for a, b, ga, gb in zip(out_ours, out_theirs, ours, theirs, strict=True):
        assert torch.equal(a, b)
        assert torch.equal(ga.grad, gb.grad)


def test_max_filter_refuses_an_even_number_of_levels():
    with pytest.raises(ValueError, match="levels must be odd"):
        MaxFilter3D(channels=8, levels=2)


def test_atss_threshold_and_topk_on_a_hand_made_case():
    quality = torch.tensor([[0.9], [0.5], [0.1], [0.0], [0.6], [0.2], [0.3], [0.05]])
    strides = torch.tensor([8.0] * 4 + [16.0] * 4)
    # per level top 2: {0.9, 0.5} and {0.6, 0.3}; mean 0.575, unbiased std 0.25: threshold 0.825
    assert atss_candidates(quality, strides, 2)[:, 0].nonzero().flatten().tolist() == [0]
    assert topk_candidates(quality, 3)[:, 0].nonzero().flatten().tolist() == [0, 1, 4]


def test_aux_atss_ranks_and_thresholds_every_anchor_before_the_box():
    """DeFCN's get_aux_ground_truth: top-k per level and mean + std on the quality of all anchors,
    then only the anchors inside the box."""
    quality = torch.tensor([[0.1], [0.5], [0.9], [0.8], [0.3], [0.4], [0.2], [0.05]])
    inside = torch.tensor([[True]] * 4 + [[False]] + [[True]] * 3)  # anchor 4 lies outside the box
    priors = torch.tensor([[0.0, 0.0, s, s] for s in [8.0] * 4 + [16.0] * 4])
    owner, _, matched = OneToManyAssigner("atss", topk=3).match(priors, None, None, quality, inside)
    # top 3 per level over all anchors: {0.9, 0.8, 0.5} and {0.4, 0.3, 0.2}: mean 0.51667, unbiased std
    # 0.27869, threshold 0.79535: anchors 2 and 3. Zeroing anchor 4 first would rank {0.4, 0.2, 0.05}:
    # mean 0.475, std 0.33129, threshold 0.80629, and drop anchor 3.
    assert matched.nonzero().flatten().tolist() == [2, 3] and (owner[matched] == 0).all()


def test_fcos_mode_gives_an_anchor_in_two_boxes_to_the_smaller():
    """FCOS's rule: an anchor positive for several objects goes to the one of least area, whatever
    the quality."""
    assigner = OneToManyAssigner("fcos")
    assigner.bind_levels([8], [(-1, 64)])
    priors = torch.tensor([[16.0, 16.0, 8.0, 8.0]])
    # both boxes' centre regions (1.5 strides around (20, 20) and (18, 18), clipped) hold (16, 16)
    gt = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 40.0, 40.0], [8.0, 8.0, 28.0, 28.0]]))
    quality = torch.tensor([[0.9, 0.3]])  # the larger box matches better
    owner, best, matched = assigner.match(priors, gt, None, quality, torch.ones(1, 2, dtype=torch.bool))
    assert owner.tolist() == [1] and best.tolist() == pytest.approx([0.3]) and matched.tolist() == [True]


def small_poto_head(**kwargs) -> POTOHead:
    return POTOHead(num_classes=1, in_channels=16, feat_channels=16, stacked_convs=1, strides=[8, 16],
                    norm_cfg=dict(type="GN", num_groups=4), train_cfg=dict(assigner=dict(type="POTOAssigner")),
                    test_cfg=ConfigDict(nms_pre=1000, score_thr=0.05, nms=dict(type="nms", iou_threshold=0.6),
                                        max_per_img=100, nms_free=True), **kwargs)


def test_plain_poto_has_no_objectness_and_scores_by_class_alone():
    """DeFCN's plain POTO (poto.res50.fpn.coco.800size.3x_ms): sigmoid(cls) alone in loss and inference."""
    head = small_poto_head()
    assert head.conv_objectness is None and not any("objectness" in n for n, _ in head.named_parameters())
    torch.nn.init.zeros_(head.conv_cls.weight)
    torch.nn.init.constant_(head.conv_cls.bias, float(torch.logit(torch.tensor(0.3))))
    feats = [torch.randn(1, 16, 8, 8), torch.randn(1, 16, 4, 4)]
    cls, reg, obj = head(feats)
    assert obj == [None, None]
    # no objects: every one of the 80 anchors is a negative, 0.75 * 0.3^2 * -ln(0.7) = 0.0240756 each
    losses = head.loss_by_feat(cls, reg, obj, [InstanceData(bboxes=torch.zeros(0, 4),
                                                            labels=torch.zeros(0, dtype=torch.long))],
                               [{"img_shape": (64, 64)}])
    assert losses["loss_cls"].item() == pytest.approx(80 * 0.0240756, rel=1e-4)
    with torch.no_grad():
        results = head.predict_by_feat(cls, reg, obj, batch_img_metas=[{"img_shape": (64, 64)}])
    assert len(results[0]) == 80 and torch.allclose(results[0].scores, torch.tensor(0.3))
    with pytest.raises(ValueError, match="with_objectness=False"):
        small_poto_head(objectness_module=dict(type="MaxFilter3D", levels=3, kernel=3, norm_groups=4))


def test_fcos_mode_uses_the_heads_levels():
    head = POTOHead(num_classes=1, in_channels=16, feat_channels=16, stacked_convs=1, strides=[8, 16],
                    regress_ranges=((-1, 32), (32, 1e8)), norm_cfg=dict(type="GN", num_groups=4),
                    train_cfg=dict(assigner=dict(type="POTOAssigner"),
                                   aux_assigner=dict(type="OneToManyAssigner", strategy="fcos")))
    assert head.aux_assigner.regress_ranges == {8: (-1, 32), 16: (32, 1e8)}


def test_hybrid_epoch_switches_assigner_at_the_configured_epoch():
    cfg = load_config(REPO / "configs/poto/hybrid-epoch_r50_fpn_1x_coco.py", "ci")
    from mmdet.registry import MODELS

    head = MODELS.build(cfg.model).bbox_head
    head.set_epoch(7, 12)
    assert isinstance(head.current_assigner(), OneToManyAssigner)
    head.set_epoch(8, 12)
    assert isinstance(head.current_assigner(), POTOAssigner)


def test_progloss_weights_move_from_the_auxiliary_to_the_one_to_one_loss_per_iteration():
    """YOLO26's schedule as the ProgLoss config sets it: at the first iteration the one-to-one losses weigh
    0.2 and the auxiliary 0.8, at the last 0.9 and 0.1; halfway 0.55 and 0.45 (linear); the hook sets the
    progress from the runner's iteration."""
    from o2f.engine.hooks import EpochToHeadHook
    from o2f.models.loss_schedule import linear_weight

    assert (linear_weight(0.8, 0.1, 0.0), linear_weight(0.8, 0.1, 1.0)) == (0.8, 0.1)
    assert linear_weight(0.2, 0.9, 0.5) == pytest.approx(0.55) and linear_weight(0.2, 0.9, 2.0) == 0.9
    cfg = load_config(REPO / "configs/poto/progloss_r50_fpn_1x_coco.py", "ci")
    plain_cfg = load_config(REPO / "configs/poto/poto-3dmf-aux-atss_r50_fpn_1x_coco.py", "ci")
    from mmdet.registry import MODELS

    torch.manual_seed(0)
    head = MODELS.build(cfg.model).bbox_head
    plain = MODELS.build(plain_cfg.model).bbox_head
    plain.load_state_dict(head.state_dict())
    feats = [torch.randn(1, 32, 16 // 2 ** i, 16 // 2 ** i) for i in range(4)]
    gt = [InstanceData(bboxes=torch.tensor([[8.0, 8.0, 60.0, 50.0]]), labels=torch.tensor([0]))]
    with torch.no_grad():
        unweighted = plain.loss_by_feat(*plain(feats), gt, [{"img_shape": (128, 128)}])
        for progress, one_to_one, aux in ((0.0, 0.2, 0.8), (1.0, 0.9, 0.1), (0.5, 0.55, 0.45)):
            head.set_progress(progress)
            weighted = head.loss_by_feat(*head(feats), gt, [{"img_shape": (128, 128)}])
            for key in ("loss_cls", "loss_bbox"):
                assert weighted[key].item() == pytest.approx(one_to_one * unweighted[key].item(), rel=1e-5)
            assert weighted["loss_aux"].item() == pytest.approx(aux * unweighted["loss_aux"].item(), rel=1e-5)

    class Runner:  # what the hook reads of mmengine's Runner
        model, iter, max_iters = type("Model", (), {"bbox_head": head})(), 30, 120
    EpochToHeadHook().before_train_iter(Runner, 0)
    assert head.progress == 0.25


@pytest.mark.slow
@pytest.mark.parametrize("config", EXPERIMENT_CONFIGS, ids=lambda p: p.stem)
def test_every_config_trains_one_iteration_at_ci_scale(config, in_tmp_with_data):
    cfg = load_config(REPO / config, "ci")
    runner = build_runner(cfg, in_tmp_with_data / "work", resume=False)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    batch = next(iter(runner.build_dataloader(cfg.train_dataloader)))
    losses = runner.model.train_step(batch, optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values())
