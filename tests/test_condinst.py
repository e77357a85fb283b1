"""CondInst (Table 9): the mask-centroid centre region, one-to-few positives for the mask head, the mask
loss falling on CPU, and masks for both NMS variants from one forward pass, the NMS-free one without NMS."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

pytest.importorskip("mmcv.ops")

from mmdet.registry import MODELS  # noqa: E402
from mmdet.structures.mask import BitmapMasks  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import o2f.plugin  # noqa: E402,F401
from o2f.models.condinst_heads import (
    O2FCondInstBboxHead,  # noqa: E402
    mask_centred,  # noqa: E402
)
from o2f.models.condinst_mask_head import semantic_targets  # noqa: E402
from o2f.models.dual_postprocess import NMS_FIELD, NO_NMS_FIELD  # noqa: E402
from o2f.models.matching import centre_region_mask, mask_centroids  # noqa: E402
from o2f.pipeline.config import load_config  # noqa: E402
from o2f.pipeline.layout import config_family  # noqa: E402
from o2f.pipeline.train import build_runner  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONFIGS = sorted(p.relative_to(REPO) for p in (REPO / "configs/condinst").glob("*.py"))
O2F = REPO / "configs/condinst/o2f-condinst_r50_fpn_1x_coco.py"


def l_shaped_mask(height: int = 48, width: int = 48) -> torch.Tensor:
    """Two 256-pixel blocks: a bar at columns 0-7, rows 0-31 (centroid 3.5, 15.5) and a foot at rows
    24-31, columns 8-39 (centroid 23.5, 27.5). Centroid (13.5, 21.5); box [0, 0, 40, 32], centre (20, 16)."""
    mask = torch.zeros(height, width, dtype=torch.bool)
    mask[0:32, 0:8] = True
    mask[24:32, 8:40] = True
    return mask


def test_mask_centroid_hand_computed():
    box = torch.tensor([[0.0, 0.0, 40.0, 32.0]])
    assert mask_centroids(l_shaped_mask()[None], box).tolist() == [[13.5, 21.5]]
    # an empty mask (its object cropped away) falls back to the box centre
    assert mask_centroids(torch.zeros(1, 48, 48, dtype=torch.bool), box).tolist() == [[20.0, 16.0]]


def test_centre_region_follows_the_centroid():
    """Stride 8, radius 1.5 (12 px): around (13.5, 21.5) the region is x in (1.5, 25.5), y in (9.5, 32]
    (clipped to the box); around the box centre it would be x in (8, 32), y in (4, 28)."""
    box = torch.tensor([[0.0, 0.0, 40.0, 32.0]])
    points = torch.tensor([[x, y] for y in range(4, 48, 8) for x in range(4, 48, 8)], dtype=torch.float32)
    strides = torch.full((len(points),), 8.0)
    around_centroid = centre_region_mask(points, strides, box, 1.5, mask_centroids(l_shaped_mask()[None], box))
    around_box = centre_region_mask(points, strides, box, 1.5)
    inside = {tuple(p) for p in points[around_centroid[:, 0]].int().tolist()}
    assert inside == {(x, y) for x in (4, 12, 20) for y in (12, 20, 28)}
    assert {tuple(p) for p in points[around_box[:, 0]].int().tolist()} == {(x, y) for x in (12, 20, 28)
                                                                           for y in (12, 20)}


def test_semantic_targets_take_the_smallest_covering_instance():
    """The authors' auxiliary semantic loss: a 16 px image at stride 4 samples pixels 2, 6, 10, 14."""
    masks = torch.zeros(2, 16, 16, dtype=torch.bool)
    masks[0, :, :12] = True  # class 0, 192 pixels
    masks[1, 4:12, 4:12] = True  # class 1, 64 pixels, on top of the first
    assert semantic_targets(masks, torch.tensor([0, 1]), 3, 4).tolist() == [[0, 0, 0, 3],
                                                                           [0, 1, 1, 3],
                                                                           [0, 1, 1, 3],
                                                                           [0, 0, 0, 3]]
    assert (semantic_targets(masks[:0], torch.zeros(0, dtype=torch.long), 3, 4) == 3).all()


def small_head(topk: int = 7) -> O2FCondInstBboxHead:
    return O2FCondInstBboxHead(num_classes=2, in_channels=16, feat_channels=16, stacked_convs=1, strides=[8],
                               regress_ranges=((-1, 1e8), ), num_obj_convs=1,
                               norm_cfg=dict(type="GN", num_groups=4, requires_grad=True),
                               train_cfg=dict(assigner=dict(type="OneToFewAssigner", topk=topk)))


def test_positives_for_the_mask_head_sit_around_the_centroid():
    """A wide object whose mask is a bar on its left: every one-to-few positive (certain and ambiguous)
    reaches the mask head, in the region around the bar's centroid, none around the box centre."""
    torch.manual_seed(0)
    head = small_head()
    mask = torch.zeros(2, 64, 128, dtype=torch.bool)
    mask[0, 8:56, 4:20] = True  # bar: 768 pixels around (11.5, 31.5)
    mask[0, 31:33, 20:100] = True  # a thin arm (160 pixels) stretches the box to [4, 8, 100, 56], centre (52, 32)
    mask[1, 40:60, 104:124] = True
    boxes = torch.tensor([[4.0, 8.0, 100.0, 56.0], [104.0, 40.0, 124.0, 60.0]])
    gt = InstanceData(bboxes=boxes, labels=torch.tensor([0, 1]), masks=BitmapMasks(mask.numpy(), 64, 128))
    feats = [torch.randn(1, 16, 8, 16)]
    head.loss_by_feat(*head(feats), [gt], [{"img_shape": (64, 128)}])
    info = head.get_positive_infos()[0]
    centres = mask_centred(gt).centres
    assert centres[0].tolist() == pytest.approx([(11.5 * 768 + 59.5 * 160) / 928, 31.5])  # x = 19.78
    first = info.pos_assigned_gt_inds == 0
    assert 1 < first.sum() <= 7  # one certain + ambiguous anchors, all handed to the mask head
    reach = (info.points[first] - centres[0]).abs().max(-1).values / info.strides[first]
    assert (reach < 1.5).all()
    assert ((info.points[first, 0] - 52).abs() >= 1.5 * 8).all()  # none in the box-centred region
    assert info.param_preds.shape == (len(info.points), head.num_params)


def test_inference_ranks_by_max_joint_score_and_thresholds_the_class_score():
    """The authors' CondInst head: per level the ``nms_pre`` anchors of highest max joint score, then
    class score > 0.05, scored by the joint score."""
    head = small_head()
    head.test_cfg = ConfigDict(nms_pre=2, score_thr=0.05, nms=dict(type="nms", iou_threshold=0.6), max_per_img=100)
    cls = torch.tensor([0.5, 0.2, 0.9])  # class 0 of three anchors; class 1 scores ~0 everywhere
    obj = torch.tensor([0.08, 0.5, 0.01])  # joint scores 0.04, 0.1, 0.009
    cls_scores = [torch.stack([torch.logit(cls), torch.full((3,), -20.0)]).view(1, 2, 1, 3)]
    results = head.predict_by_feat(cls_scores, [torch.full((1, 4, 1, 3), 4.0)], [torch.logit(obj).view(1, 1, 1, 3)],
                                   [torch.zeros(1, head.num_params, 1, 3)], batch_img_metas=[{"img_shape": (8, 24)}])
    # top 2 by joint: anchors 1 (0.1) and 0 (0.04), both of class score > 0.05. Thresholding the joint
    # score would keep anchor 1 alone; ranking by class score (mmdet) would keep anchors 2 and 0.
    assert results[0].scores.tolist() == pytest.approx([0.1, 0.04], rel=1e-5)
    assert results[0].labels.tolist() == [0, 0]


@pytest.fixture()
def o2f_model(in_tmp_with_data):
    cfg = load_config(O2F, "ci", {"model.test_cfg.score_thr": 0.0})
    init_default_scope("mmdet")
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    return cfg, model, loader


@pytest.mark.slow
def test_one_to_few_mask_loss_falls_on_cpu(o2f_model):
    cfg, model, loader = o2f_model
    batch = {key: value[:2] for key, value in next(iter(loader)).items()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    mask_losses = []
    for _ in range(12):
        data = model.data_preprocessor(batch, True)
        losses = model.loss(data["inputs"], data["data_samples"])
        sum(losses.values()).backward()
        optimizer.step()
        optimizer.zero_grad()
        mask_losses.append(float(losses["loss_mask"]))
    first, last = sum(mask_losses[:3]) / 3, sum(mask_losses[-3:]) / 3
    assert last < 0.75 * first, mask_losses


@pytest.mark.slow
def test_both_variants_get_masks_and_the_nms_free_one_skips_nms(o2f_model, monkeypatch):
    """NMS (mocked to keep only the best box) runs once per image for the NMS variant; the NMS-free
    variant is the plain score-ranked top-100 of the same candidates, each with its mask."""
    cfg, model, loader = o2f_model
    calls = []

    def keep_best(boxes, scores, labels, nms_cfg):
        calls.append(len(boxes))
        best = scores.argmax()[None]
        return torch.cat([boxes[best], scores[best, None]], 1), best

    monkeypatch.setattr("mmdet.models.dense_heads.base_dense_head.batched_nms", keep_best)
    model.eval()
    batch = next(iter(loader))
    with torch.no_grad():
        data = model.data_preprocessor(batch, False)
        samples = model.predict(data["inputs"], data["data_samples"])
    assert len(calls) == len(samples)  # NMS ran once per image, on all candidates
    for sample, candidates in zip(samples, calls, strict=True):
        with_nms, without_nms = sample.get(NMS_FIELD), sample.get(NO_NMS_FIELD)
        assert len(with_nms) == 1 and len(without_nms) == min(candidates, cfg.model.test_cfg.max_per_img) > 1
        assert without_nms.scores.tolist() == sorted(without_nms.scores.tolist(), reverse=True)
        assert without_nms.scores[0] == with_nms.scores[0]
        h, w = sample.ori_shape
        assert with_nms.masks.shape == (1, h, w) and without_nms.masks.shape == (len(without_nms), h, w)
        assert with_nms.masks.dtype == torch.bool
        assert torch.equal(without_nms.masks[0], with_nms.masks[0])  # the same anchor decodes the same mask
        assert torch.equal(sample.pred_instances.scores, without_nms.scores)  # nms_free: the NMS-free variant
        assert "param_preds" not in without_nms


@pytest.mark.slow
def test_no_candidate_gives_empty_variants(o2f_model):
    _, model, loader = o2f_model
    model.bbox_head.test_cfg.score_thr = 1.1  # nothing passes
    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(next(iter(loader)), False)
        samples = model.predict(data["inputs"], data["data_samples"])
    for sample in samples:
        for field in (NMS_FIELD, NO_NMS_FIELD):
            assert sample.get(field).masks.shape == (0, *sample.ori_shape)


def test_configs_keep_the_paper_schedule_and_load_masks():
    for config in CONFIGS:
        cfg = load_config(REPO / config, "full")
        assert config_family(REPO / config) == "condinst" and cfg.model.type == "DualNMSCondInst"
        assert cfg.train_cfg.max_epochs == (36 if "_3x_" in config.name else 12)
        pipeline = cfg.train_dataloader.dataset.pipeline
        assert any(t["type"] == "LoadAnnotations" and t["with_mask"] for t in pipeline)
        resize = next(t for t in pipeline if "Resize" in t["type"])
        assert resize["scale"] == ([(1333, 640), (1333, 800)] if "_3x_" in config.name else (1333, 800))
        assert cfg.val_evaluator.type == "DualNMSCocoMetric" and "segm" in cfg.val_evaluator.metric


FEW_DETECTIONS = {"model.test_cfg.score_thr": 0.0, "model.test_cfg.max_per_img": 10}  # an untrained model


@pytest.mark.slow
@pytest.mark.parametrize("config", [c for c in CONFIGS if "_1x_" in c.name and not c.name.startswith("o2f")],
                         ids=lambda p: p.stem)
def test_each_setting_trains_and_predicts_both_variants_at_ci_scale(config, in_tmp_with_data):
    """One-to-many and POTO (one-to-few: the tests above): one training iteration, then masks for both
    NMS variants. tests/test_baselines.py trains every config, 3x ones included, one iteration too."""
    cfg = load_config(REPO / config, "ci", FEW_DETECTIONS)
    runner = build_runner(cfg, in_tmp_with_data / "work", resume=False)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    losses = runner.model.train_step(next(iter(runner.build_dataloader(cfg.train_dataloader))), optim_wrapper)
    assert "loss_mask" in losses and all(torch.isfinite(v) for v in losses.values())
    assert ("loss_semantic" in losses) == config.name.startswith("poto")  # mmdet's CondInst has none
    samples = runner.model.val_step(next(iter(runner.build_dataloader(cfg.val_dataloader))))
    for sample in samples:
        for field in (NMS_FIELD, NO_NMS_FIELD):
            result = sample.get(field)
            assert 0 < len(result) <= 10 and result.masks.shape == (len(result), *sample.ori_shape)


@pytest.mark.slow
def test_mask_ap_and_ar_with_and_without_nms(in_tmp_with_data):
    cfg = load_config(O2F, "ci", FEW_DETECTIONS)
    metrics = build_runner(cfg, in_tmp_with_data / "work", resume=False).val_loop.run()
    keys = {f"coco/{v}_{m}_{k}" for v in ("nms", "nonms") for m in ("bbox", "segm")
            for k in ("mAP", "mAP_50", "mAP_75", "AR_100")}
    assert keys <= metrics.keys()
    assert all(0 <= metrics[k] <= 1 for k in keys)
