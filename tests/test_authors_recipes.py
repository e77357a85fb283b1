"""Every full-scale experiment of tables.yaml against its authors' recipe: the input normalisation its
backbone's weights expect, the frozen first stage, and the optimiser (built, parameter by parameter).

The values below are copied from the authors' files, named beside each entry; the test builds each
config's model and optimiser the way training does and compares.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

pytest.importorskip("mmcv.ops")

from mmdet.registry import MODELS  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import o2f.plugin  # noqa: E402,F401
from o2f.pipeline.config import load_config  # noqa: E402

pytestmark = pytest.mark.slow  # a full-scale model and optimiser per config

REPO = Path(__file__).resolve().parent.parent
EXPERIMENTS = yaml.safe_load((REPO / "configs/tables.yaml").read_text())["experiments"]
CONFIGS = sorted({entry["config"] for entry in EXPERIMENTS.values()})

CAFFE = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)
IMAGENET_RGB = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
# The normalisation each set of ImageNet weights was trained with.
WEIGHTS = {
    "open-mmlab://detectron2/resnet50_caffe": CAFFE,  # MSRA R-50 (DeFCN's detectron2://.../MSRA/R-50.pkl)
    "open-mmlab://detectron2/resnet101_caffe": CAFFE,
    "torchvision://resnet50": IMAGENET_RGB,  # strongwolf/o2f configs/r50_1x.py img_norm_cfg
    "torchvision://resnet101": IMAGENET_RGB,
    "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth":
        IMAGENET_RGB,  # strongwolf/o2f configs/swin_1x.py img_norm_cfg
}

# Optimiser recipes: type, lr, weight decay, momentum (SGD), clipping, and the decay multiplier of norm
# weights in the backbone and in the head, the lr multiplier of conv biases.
RECIPES = {
    # mmdet's FCOS config (fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py)
    "mmdet_fcos": dict(type="SGD", lr=0.01, weight_decay=1e-4, momentum=0.9, clip=None,
                       backbone_norm_decay=1.0, head_norm_decay=1.0, bias_lr=2.0),
    # strongwolf/o2f configs/r50_1x.py (norm_decay_mult 0); DeFCN/cvpods: SGD 0.01, WEIGHT_DECAY_NORM 0
    "o2f_sgd": dict(type="SGD", lr=0.01, weight_decay=1e-4, momentum=0.9, clip=None,
                    backbone_norm_decay=0.0, head_norm_decay=0.0, bias_lr=1.0),
    # strongwolf/o2f configs/swin_1x.py: AdamW, custom keys absolute_pos_embed, relative_position_bias_table, norm
    "swin": dict(type="AdamW", lr=1e-4, weight_decay=0.05, momentum=None, clip=None,
                 backbone_norm_decay=0.0, head_norm_decay=1.0, bias_lr=1.0),
    # strongwolf/o2f configs/crowdhuman.py
    "o2f_crowdhuman": dict(type="AdamW", lr=4e-5, weight_decay=1e-4, momentum=None, clip=None,
                           backbone_norm_decay=1.0, head_norm_decay=1.0, bias_lr=1.0),
    # DeFCN playground/detection/crowdhuman/*.800size.30k + cvpods base_config.py
    "defcn_crowdhuman": dict(type="SGD", lr=0.01, weight_decay=1e-4, momentum=0.9, clip=None,
                             backbone_norm_decay=0.0, head_norm_decay=0.0, bias_lr=1.0),
    # strongwolf/o2f configs/condinst_r50_1x.py (= mmdet's CondInst): bias lr x2, bias decay 0
    "condinst": dict(type="SGD", lr=0.01, weight_decay=1e-4, momentum=0.9, clip=None,
                     backbone_norm_decay=1.0, head_norm_decay=1.0, bias_lr=2.0),
}


def recipe_of(config: str) -> str:
    path = Path(config)
    if path.parent.name == "crowdhuman":
        return "o2f_crowdhuman" if path.stem.startswith("o2f") else "defcn_crowdhuman"
    if path.parent.name == "condinst":
        return "condinst"
    if "swin-t" in path.stem:
        return "swin"
    return "mmdet_fcos" if path.parent.name == "fcos" else "o2f_sgd"


def group_of(optimizer, parameter) -> dict:
    return next(g for g in optimizer.param_groups if any(p is parameter for p in g["params"]))


def first(model, predicate):
    """The first trainable parameter whose name passes ``predicate``, or None."""
    return next((p for name, p in model.named_parameters() if p.requires_grad and predicate(name)), None)


def is_norm_weight(name: str) -> bool:
    leaf = name.split(".")[-2]
    return name.endswith("weight") and (leaf.startswith(("norm", "bn", "gn")) or leaf == "ln")


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: Path(c).stem)
def test_full_scale_config_follows_its_authors(config):
    cfg = load_config(REPO / config, "full")
    init_default_scope("mmdet")
    model = MODELS.build(cfg.model)
    model.train()

    weights = cfg.model.backbone.init_cfg.checkpoint
    expected = WEIGHTS[weights]
    preprocessor = model.data_preprocessor
    assert preprocessor.mean.flatten().tolist() == pytest.approx(expected["mean"])
    assert preprocessor.std.flatten().tolist() == pytest.approx(expected["std"])
    assert preprocessor._channel_conversion == expected["bgr_to_rgb"]

    backbone = model.backbone
    if cfg.model.backbone.type == "SwinTransformer":  # frozen_stages=1: patch embedding and stage 1
        frozen = [backbone.patch_embed, backbone.stages[0], backbone.norm0]
        trained = backbone.stages[1]
    else:  # frozen_stages=1: stem and layer1; BN statistics frozen everywhere (norm_eval)
        assert cfg.model.backbone.style == ("caffe" if expected is CAFFE else "pytorch")
        frozen = [backbone.conv1, backbone.bn1, backbone.layer1]
        trained = backbone.layer2
        assert all(not m.training for m in backbone.modules() if isinstance(m, torch.nn.BatchNorm2d))
        assert backbone.layer2[0].bn1.weight.requires_grad == (expected is IMAGENET_RGB)
    assert not any(p.requires_grad for m in frozen for p in m.parameters())
    assert any(p.requires_grad for p in trained.parameters())

    recipe = RECIPES[recipe_of(config)]
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    optimizer = wrapper.optimizer
    assert type(optimizer).__name__ == recipe["type"]
    assert optimizer.defaults["lr"] == pytest.approx(recipe["lr"])
    assert optimizer.defaults["weight_decay"] == pytest.approx(recipe["weight_decay"])
    if recipe["momentum"] is not None:
        assert optimizer.defaults["momentum"] == pytest.approx(recipe["momentum"])
    assert cfg.optim_wrapper.get("clip_grad") == recipe["clip"]
    decay = recipe["weight_decay"]
    backbone_norm = first(model, lambda n: n.startswith("backbone.") and is_norm_weight(n))
    head_norm = first(model, lambda n: n.startswith("bbox_head.") and ".gn." in n and n.endswith("weight"))
    conv_bias = first(model, lambda n: n == "bbox_head.conv_cls.bias")
    if backbone_norm is not None:  # (frozen BN in the caffe R50s)
        expected_decay = decay * recipe["backbone_norm_decay"]
        assert group_of(optimizer, backbone_norm)["weight_decay"] == pytest.approx(expected_decay)
    assert group_of(optimizer, head_norm)["weight_decay"] == pytest.approx(decay * recipe["head_norm_decay"])
    assert group_of(optimizer, conv_bias)["lr"] == pytest.approx(recipe["lr"] * recipe["bias_lr"])
