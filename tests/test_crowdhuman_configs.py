"""Table 8's configs at the paper's scale keep their authors' CrowdHuman recipes: strongwolf/o2f
configs/crowdhuman.py for one-to-few, DeFCN's playground/detection/crowdhuman/*.800size.30k (whose
published numbers the paper's rows are) for FCOS, POTO and POTO+3DMF+Aux."""

from __future__ import annotations

from pathlib import Path

import pytest

from o2f.pipeline.config import load_config
from o2f.pipeline.layout import config_family

REPO = Path(__file__).resolve().parent.parent
CONFIGS = sorted((REPO / "configs/crowdhuman").glob("*.py"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_crowdhuman_settings_of_the_authors_code(config):
    cfg = load_config(config, "full")
    assert config_family(config) == "crowdhuman" and cfg.model.bbox_head.num_classes == 1
    assert cfg.val_evaluator.ann_file == "data/crowdhuman/annotation_val.odgt"  # the full scale's root
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert train.type == val.type == "CrowdHumanDataset"
    assert (train.ann_file, val.ann_file) == ("annotation_train.odgt", "annotation_val.odgt")
    assert next(t for t in val.pipeline if t["type"] == "Resize")["scale"] == (1400, 800)
    assert cfg.val_evaluator.type == "DualNMSCrowdHumanMetric"
    assert cfg.optim_wrapper.get("clip_grad") is None
    warmup, step = cfg.param_scheduler
    assert (warmup["type"], warmup["start_factor"], warmup["end"], warmup["by_epoch"]) == ("LinearLR", 0.001, 1000,
                                                                                            False)
    assert cfg.model.test_cfg.max_per_img == 500
    if config.stem.startswith("o2f"):  # 50 epochs, AdamW 4e-5 (decay 1e-4), step at 40, 480-960 px
        resize = next(t for t in train.pipeline if t["type"] == "RandomResize")
        assert resize["scale"] == [(1400, 480), (1400, 960)] and resize["keep_ratio"]
        assert cfg.model.test_cfg.nms_pre == 5000
        assert cfg.train_cfg.max_epochs == 50
        assert cfg.optim_wrapper.optimizer == dict(type="AdamW", lr=4e-5, weight_decay=1e-4)
        assert (step["milestones"], step["end"], step["by_epoch"]) == ([40], 50, True)
        assert cfg.model.train_cfg.assigner.type == "OneToFewAssigner"
        assert cfg.model.train_cfg.assigner.topk == 4  # K = 4 on CrowdHuman (COCO: 7)
        return
    # DeFCN: 30k iterations of 16 images (32 epochs of 15000), steps at 20k and 25k, SGD 0.01, 800 px
    assert next(t for t in train.pipeline if t["type"] == "Resize")["scale"] == (1400, 800)
    assert cfg.model.test_cfg.nms_pre == 1000
    assert cfg.train_cfg.max_epochs * 15000 // 16 == 30000
    assert cfg.optim_wrapper.optimizer == dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4)
    assert (step["milestones"], step["end"], step["by_epoch"]) == ([20000, 25000], 30000, False)
    assert cfg.model.backbone.init_cfg.checkpoint == "open-mmlab://detectron2/resnet50_caffe"
    if config.stem.startswith("poto"):  # CENTER_SAMPLING_RADIUS=0.0: the whole box
        assert cfg.model.train_cfg.assigner.center_radius == 0.0
    else:  # FCOS keeps its centre sampling (radius 1.5), as DeFCN's fcos...crowdhuman config
        assert cfg.model.bbox_head.center_sampling and cfg.model.bbox_head.center_sample_radius == 1.5


def test_table8_has_the_four_methods():
    assert sorted(p.stem.split("_r50")[0] for p in CONFIGS) == ["fcos", "o2f", "poto", "poto-3dmf-aux"]
