"""Load an experiment config at a scale: the experiment file, then the scale's override file.

A scale (``ci``, ``demo``, ``full``) swaps dataset, backbone, image size and schedule for every
experiment at once, so the experiment configs stay the paper's and are never copied per scale.
"""

from __future__ import annotations

from pathlib import Path

from mmengine.config import Config

from ..errors import O2FError

CONFIG_ROOT = Path(__file__).resolve().parents[2] / "configs"
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


def loader_datasets(cfg: Config) -> list[tuple[str, dict]]:
    """(split, dataset config) the train and val loaders will read, looking through repeat wrappers."""
    found = []
    for split in ("train", "val"):
        dataset = cfg.get(f"{split}_dataloader", {}).get("dataset", {})
        while "dataset" in dataset:
            dataset = dataset["dataset"]
        if dataset.get("ann_file"):
            found.append((split, dataset))
    return found


def dataset_classes(dataset: dict) -> tuple[str, ...]:
    """The classes a dataset config trains: its metainfo's, else its dataset class's defaults."""
    classes = dataset.get("metainfo", {}).get("classes")
    if classes is None:
        from mmdet.registry import DATASETS

        classes = DATASETS.get(dataset["type"]).METAINFO["classes"]
    return tuple(classes)


def check_datasets(cfg: Config) -> dict[str, str]:
    """Fail early, in one line, on a missing dataset, a malformed or empty annotation file (COCO json or
    CrowdHuman odgt), an image that is missing or does not decode, or a split without a usable box.
    Returns one summary line per split (``{split: line}``): what training uses and what it leaves out,
    by reason. The scale's ``dataset_help`` says where to get the data."""
    from ..datasets.checks import check_coco, check_odgt

    how_to_get = cfg.get("dataset_help", "run `o2f prepare-data`")
    lines = {}
    for split, dataset in loader_datasets(cfg):
        root = Path(dataset.get("data_root", ""))
        ann_file = root / dataset["ann_file"]
        folder = root if dataset.get("data_root") else ann_file.parent.parent
        if not folder.exists():
            raise O2FError(f"dataset folder {folder} does not exist; {how_to_get}")
        if not ann_file.exists():
            raise O2FError(f"annotation file {ann_file} does not exist; {how_to_get}")
        image_dir = root / dataset.get("data_prefix", {}).get("img", "")
        check = check_odgt if ann_file.suffix == ".odgt" else check_coco
        report = check(split, ann_file, image_dir, dataset_classes(dataset))
        report.require_usable()
        lines[split] = report.line()
    return lines
