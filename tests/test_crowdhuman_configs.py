"""Table 8's configs at the paper's scale keep the authors' CrowdHuman settings for every method."""

from __future__ import annotations

from pathlib import Path

import pytest

from o2f.config import load_config

REPO = Path(__file__).resolve().parent.parent
CONFIGS = sorted((REPO / "configs/crowdhuman").glob("*.py"))


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.stem)
def test_crowdhuman_settings_of_the_authors_code(config):
    cfg = load_config(config, "full")
    assert cfg.scale_family == "crowdhuman" and cfg.model.bbox_head.num_classes == 1
    train, val = cfg.train_dataloader.dataset, cfg.val_dataloader.dataset
    assert train.type == val.type == "CrowdHumanDataset"
    assert (train.ann_file, val.ann_file) == ("annotation_train.odgt", "annotation_val.odgt")
    resize = next(t for t in train.pipeline if t["type"] == "RandomResize")
    assert resize["scale"] == [(1400, 480), (1400, 960)] and resize["keep_ratio"]
    assert next(t for t in val.pipeline if t["type"] == "Resize")["scale"] == (1400, 800)
    assert (cfg.model.test_cfg.nms_pre, cfg.model.test_cfg.max_per_img) == (5000, 500)
    assert cfg.val_evaluator.type == "DualNMSCrowdHumanMetric"
    assert cfg.train_cfg.max_epochs == 50
    assert cfg.optim_wrapper.optimizer.type == "AdamW" and cfg.optim_wrapper.optimizer.lr == 4e-5
    step = next(s for s in cfg.param_scheduler if s["type"] == "MultiStepLR")
    assert step["milestones"] == [40] and step["end"] == 50
    if config.stem.startswith("o2f"):
        assert cfg.model.train_cfg.assigner.type == "OneToFewAssigner"
        assert cfg.model.train_cfg.assigner.topk == 4  # K = 4 on CrowdHuman (COCO: 7)


def test_table8_has_the_four_methods():
    assert sorted(p.stem.split("_r50")[0] for p in CONFIGS) == ["fcos", "o2f", "poto", "poto-3dmf-aux"]
