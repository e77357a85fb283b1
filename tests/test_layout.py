"""One resolver for scales, config families, data roots and work dirs; a user's own COCO dataset is a
data root in configs/pipeline.yaml, its classes read from its annotation file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from dag import project_copy, settings, snakemake

from o2f.errors import O2FError
from o2f.pipeline.layout import Layout, config_family, load_settings
from o2f.pipeline.plan import Plan

FCOS = "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"
FRUIT = {3: "kiwi", 1: "lemon", 7: "fig"}  # ids out of order: classes follow the ids


def fruit_dataset(synthetic_root: Path, out: Path) -> Path:
    """The synthetic shapes relabelled as three classes of other names (every third box a fig)."""
    (out / "annotations").mkdir(parents=True)
    os.symlink(synthetic_root / "images", out / "images")
    for split in ("train", "val"):
        coco = json.loads((synthetic_root / "annotations" / f"{split}.json").read_text())
        coco["categories"] = [{"id": i, "name": name} for i, name in FRUIT.items()]
        for n, box in enumerate(coco["annotations"]):
            box["category_id"] = 7 if n % 3 == 0 else {1: 1, 2: 3}[box["category_id"]]
        (out / "annotations" / f"{split}.json").write_text(json.dumps(coco))
    return out


def with_coco_root(repo_root: Path, scale: str, root: str) -> dict:
    base = settings(repo_root)
    base["scales"][scale]["datasets"]["coco"] = root
    return base


def test_a_configs_family_is_its_folder(repo_root, tmp_path):
    assert config_family(repo_root / "configs/crowdhuman/o2f_r50_fpn_50e_crowdhuman.py") == "crowdhuman"
    assert config_family(repo_root / "configs/condinst/o2f-condinst_r50_fpn_1x_coco.py") == "condinst"
    assert config_family(repo_root / FCOS) == "coco"
    assert config_family(tmp_path / "my_config.py") == "coco"
    assert config_family(tmp_path / "crowdhuman" / "my_config.py") == "coco"  # only the project's folders


def test_work_dirs_and_data_roots_come_from_the_settings(repo_root):
    layout = Layout(load_settings(repo_root), "demo")
    assert layout.metrics_file("o2f_r50_1x", 2) == "work_dirs/demo/o2f_r50_1x/seed2/final_metrics.json"
    assert layout.speed_file("fcos_r50_1x") == "evidence/demo/fcos_r50_1x/speed.json"
    assert layout.evidence_file("o2f_r50_1x", 2, "xeon_bf16") == "evidence/demo/o2f_r50_1x/xeon_bf16/seed2/run.json"
    assert layout.builtin_files("crowdhuman") == ["data/demo_trees_odgt/annotation_train.odgt",
                                                  "data/demo_trees_odgt/annotation_val.odgt"]
    assert Layout(load_settings(repo_root), "full").builtin_files("coco") == []  # the user's data
    with pytest.raises(O2FError, match="^unknown scale 'huge'; choose one of ci, demo, full$"):
        Layout(load_settings(repo_root), "huge")


def test_own_coco_dataset_is_one_setting_and_brings_its_classes(repo_root, synthetic_root, tmp_path):
    from mmdet.registry import MODELS

    import o2f.plugin  # noqa: F401
    from o2f.pipeline.config import innermost_dataset, load_config

    fruit_dataset(synthetic_root, tmp_path / "data/fruit")
    project = project_copy(repo_root, tmp_path / "project", settings=with_coco_root(repo_root, "ci", "data/fruit"))
    os.symlink(tmp_path / "data", project / "data")
    os.chdir(project)
    try:
        cfg = load_config(repo_root / FCOS, "ci")
    finally:
        os.chdir(repo_root)
    for split in ("train", "val", "test"):
        dataset = innermost_dataset(cfg[f"{split}_dataloader"])
        assert dataset.data_root == "data/fruit/" and dataset.metainfo["classes"] == ("lemon", "kiwi", "fig")
    assert cfg.val_evaluator.ann_file == "data/fruit/annotations/val.json"
    assert MODELS.build(cfg.model).bbox_head.num_classes == 3


def test_a_missing_user_dataset_stops_the_dag_before_any_job(repo_root):
    spec = yaml.safe_load((repo_root / "configs/tables.yaml").read_text())
    plan = Plan(spec, {**with_coco_root(repo_root, "demo", "data/mine"), "tables": ["headline"]}, root=repo_root)
    with pytest.raises(O2FError, match=r"^dataset root data/mine does not exist; .*scales\.demo\.datasets\.coco"):
        plan.check_data_roots()
    assert plan.dataset_inputs("fcos_r50_1x") == []  # not the DAG's to write


@pytest.mark.slow
def test_ci_dag_trains_and_reports_on_a_users_three_class_dataset(repo_root, synthetic_root, tmp_path):
    fruit_dataset(synthetic_root, tmp_path / "fruit")
    work = project_copy(repo_root, tmp_path / "project", own_tables=True,
                        settings=with_coco_root(repo_root, "ci", "data/fruit"))
    (work / "data").mkdir()
    shutil.move(tmp_path / "fruit", work / "data/fruit")
    spec = yaml.safe_load((work / "configs/tables.yaml").read_text())
    spec["tables"]["fruit"] = {"title": "FCOS with and without NMS on a user's dataset",
                               "columns": [{"name": "AP", "metric": "bbox_mAP"}],
                               "rows": [{"name": "FCOS", "experiment": "fcos_r50_1x", "nms": "both"}]}
    (work / "configs/tables.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    done = snakemake(work, "--cores", "2", "--config", "scale=ci", "tables=[fruit]")
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (work / "data/synthetic_shapes").exists()  # the built-in data were neither needed nor written
    dumped = next((work / "work_dirs/ci/fcos_r50_1x/seed0").glob("*.py")).read_text()
    assert "'lemon'," in dumped and "'kiwi'," in dumped and "'fig'," in dumped and "num_classes=3" in dumped
    assert (work / "reports/ci/fruit.md").read_text().count("| FCOS ") == 1  # one row, both NMS variants
