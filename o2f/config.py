"""Load an experiment config at a scale: the experiment file, then the scale's override file.

A scale (``ci``, ``demo``, ``full``) swaps dataset, backbone, image size and schedule for every
experiment at once, so the experiment configs stay the paper's and are never copied per scale.
"""

from __future__ import annotations

import json
from pathlib import Path

from mmengine.config import Config

from .errors import O2FError

CONFIG_ROOT = Path(__file__).resolve().parent.parent / "configs"
SCALE_DIR = CONFIG_ROOT / "_scales_"


def available_scales() -> list[str]:
    return sorted(p.stem for p in SCALE_DIR.glob("*.py"))


def scale_file(scale: str, family: str | None = None) -> Path:
    """The scale's override file; a config family (``scale_family = 'crowdhuman'``) whose dataset or
    model differs from COCO detection has its own ``_scales_/<family>/<scale>.py``, which inherits
    the plain scale file and overrides what differs."""
    path = SCALE_DIR / f"{scale}.py"
    if not path.exists():
        raise O2FError(f"unknown scale '{scale}'; choose one of {', '.join(available_scales())}")
    if family:
        path = SCALE_DIR / family / f"{scale}.py"
        if not path.exists():
            raise O2FError(f"config family '{family}' has no '{scale}' scale: {path} is missing")
    return path


def check_override_keys(cfg: Config, overrides: dict) -> None:
    """Refuse an override whose key path does not exist: a typo must not train silently."""
    tree = cfg.to_dict()
    for dotted in overrides:
        node = tree
        for part in dotted.split("."):
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise O2FError(f"unknown config key '{dotted}' ('{part}' not found); "
                               "check the spelling against the printed config")


def load_config(config_path: str | Path, scale: str = "full", overrides: dict | None = None) -> Config:
    """The experiment config, merged with its scale file, then with ``overrides`` (validated)."""
    config_path = Path(config_path)
    if not config_path.exists():
        raise O2FError(f"config file {config_path} does not exist")
    cfg = Config.fromfile(str(config_path))
    scale_cfg = Config.fromfile(str(scale_file(scale, cfg.get("scale_family"))))
    cfg.merge_from_dict(scale_cfg.to_dict(), allow_list_keys=True)
    if overrides:
        check_override_keys(cfg, overrides)
        cfg.merge_from_dict(overrides, allow_list_keys=True)
    cfg.scale = scale
    return cfg


def dataset_files(cfg: Config) -> list[tuple[Path, Path]]:
    """(dataset root, annotation file) the train and val loaders will read (through repeat wrappers)."""
    files = []
    for loader in ("train_dataloader", "val_dataloader"):
        dataset = cfg.get(loader, {}).get("dataset", {})
        while "dataset" in dataset:
            dataset = dataset["dataset"]
        if dataset.get("ann_file"):
            root = Path(dataset.get("data_root", ""))
            ann_file = root / dataset["ann_file"]
            files.append((root if dataset.get("data_root") else ann_file.parent.parent, ann_file))
    return files


def check_datasets(cfg: Config) -> None:
    """Fail early, in one line, on a missing dataset or a malformed annotation file (COCO json or
    CrowdHuman odgt). The scale's ``dataset_help`` says where to get the data."""
    how_to_get = cfg.get("dataset_help", "run `o2f prepare-data`")
    for root, ann_file in dataset_files(cfg):
        if not root.exists():
            raise O2FError(f"dataset folder {root} does not exist; {how_to_get}")
        if not ann_file.exists():
            raise O2FError(f"annotation file {ann_file} does not exist; {how_to_get}")
        if ann_file.suffix == ".odgt":
            from .datasets.crowdhuman import read_odgt

            read_odgt(ann_file)
        elif ann_file.suffix == ".json":
            try:
                content = json.loads(ann_file.read_text())
            except json.JSONDecodeError as err:
                raise O2FError(f"malformed annotation json {ann_file}: {err}") from err
            if not isinstance(content, dict) or not {"images", "annotations"} <= content.keys():
                raise O2FError(f"malformed annotation json {ann_file}: expected COCO keys "
                               "'images' and 'annotations'")
