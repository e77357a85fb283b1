"""POTO's Hungarian matching, 3D max filtering, the one-to-many assigners, Hybrid-Epoch, every config."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from mmengine.structures import InstanceData

pytest.importorskip("mmcv.ops")

import o2f.plugin  # noqa: E402,F401
from o2f.assigners import OneToManyAssigner, POTOAssigner  # noqa: E402
from o2f.assigners.one_to_many import atss_candidates, topk_candidates  # noqa: E402
from o2f.assigners.poto import hungarian  # noqa: E402
from o2f.config import load_config  # noqa: E402
from o2f.models import MaxFilter3D, POTOHead  # noqa: E402
from o2f.train import build_runner  # noqa: E402

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


def test_atss_threshold_and_topk_on_a_hand_made_case():
    quality = torch.tensor([[0.9], [0.5], [0.1], [0.0], [0.6], [0.2], [0.3], [0.05]])
    strides = torch.tensor([8.0] * 4 + [16.0] * 4)
    # per level top 2: {0.9, 0.5} and {0.6, 0.3}; mean 0.575, unbiased std 0.25: threshold 0.825
    assert atss_candidates(quality, strides, 2)[:, 0].nonzero().flatten().tolist() == [0]
    assert topk_candidates(quality, 3)[:, 0].nonzero().flatten().tolist() == [0, 1, 4]


def test_fcos_mode_uses_the_heads_levels():
    head = POTOHead(num_classes=1, in_channels=16, feat_channels=16, stacked_convs=1, strides=[8, 16],
                    regress_ranges=((-1, 32), (32, 1e8)), norm_cfg=dict(type="GN", num_groups=4),
                    train_cfg=dict(assigner=dict(type="POTOAssigner"),
                                   aux_assigner=dict(type="OneToManyAssigner", mode="fcos")))
    assert head.aux_assigner.regress_ranges == {8: (-1, 32), 16: (32, 1e8)}


def test_hybrid_epoch_switches_assigner_at_the_configured_epoch():
    cfg = load_config(REPO / "configs/poto/hybrid-epoch_r50_fpn_1x_coco.py", "ci")
    from mmdet.registry import MODELS

    head = MODELS.build(cfg.model).bbox_head
    head.set_epoch(7, 12)
    assert isinstance(head.current_assigner(), OneToManyAssigner)
    head.set_epoch(8, 12)
    assert isinstance(head.current_assigner(), POTOAssigner)


@pytest.mark.parametrize("config", EXPERIMENT_CONFIGS, ids=lambda p: p.stem)
def test_every_config_trains_one_iteration_at_ci_scale(config, in_tmp_with_data):
    cfg = load_config(REPO / config, "ci")
    runner = build_runner(cfg, in_tmp_with_data / "work", resume=False)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    batch = next(iter(runner.build_dataloader(cfg.train_dataloader)))
    losses = runner.model.train_step(batch, optim_wrapper)
    assert losses and all(torch.isfinite(v).all() for v in losses.values())
