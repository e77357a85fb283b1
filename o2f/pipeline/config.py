"""Load an experiment config at a scale: the experiment file, then the scale's override file.

A scale (``ci``, ``demo``, ``full``) swaps dataset, backbone, image size and schedule for every
experiment at once, so the experiment configs stay the paper's and are never copied per scale.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mmengine.config import Config

from ..detector_classes import use_classes
from ..errors import O2FError
from .layout import BUILTIN_DATA, Layout, backbone_kind, config_family, scale_file


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


def load_config(config_path: str | Path, scale: str = "full", overrides: dict | None = None,
                data_root: str | None = None) -> Config:
    """The experiment config, merged with its scale file, pointed at the scale's data root for its
    family (the working directory's ``configs/pipeline.yaml``, else the package's; ``data_root`` instead
    where given) with the classes of its annotation file (COCO format), then with ``overrides`` (validated)."""
    config_path = Path(config_path)
    if not config_path.exists():
        raise O2FError(f"config file {config_path} does not exist")
    layout = Layout.from_settings_file(scale)
    family = config_family(config_path)
    cfg = Config.fromfile(str(config_path))
    paper_backbone = backbone_kind(cfg)
    cfg.merge_from_dict(Config.fromfile(str(scale_file(scale, family))).to_dict(), allow_list_keys=True)
    use_scaled_backbone(cfg, paper_backbone)
    root = data_root.rstrip("/") if data_root else layout.data_root(family)
    use_data_root(cfg, root)
    if root in BUILTIN_DATA or "dataset_help" not in cfg:  # else the scale's download note
        cfg.dataset_help = layout.data_help(family)
    use_annotated_classes(cfg)
    if overrides:
        check_override_keys(cfg, overrides)
        cfg.merge_from_dict(overrides, allow_list_keys=True)
    if "precision" in cfg:
        from ..engine.precision import check_setting  # torch: not for the DAG's parse, which imports this module

        check_setting(cfg.precision)
    cfg.scale = scale
    return cfg


def use_scaled_backbone(cfg: Config, paper_backbone: str) -> None:
    """A scale's stand-in for the experiment's backbone: the scale file's ``model.backbone``, unless its
    ``scaled_backbones`` names one for this kind, so a table that varies the backbone still varies it."""
    scaled = cfg.pop("scaled_backbones", None) or {}
    if paper_backbone in scaled:
        cfg.model.backbone = scaled[paper_backbone]


def use_data_root(cfg: Config, root: str) -> None:
    """Every loader's dataset reads ``root``; an evaluator with an annotation file reads its loader's."""
    for split in ("train", "val", "test"):
        dataset = innermost_dataset(cfg.get(f"{split}_dataloader", {}))
        if dataset is None:
            continue
        dataset["data_root"] = f"{root}/"
        evaluator = cfg.get(f"{split}_evaluator")
        if isinstance(evaluator, dict) and "ann_file" in evaluator and dataset.get("ann_file"):
            evaluator["ann_file"] = f"{root}/{dataset['ann_file']}"


def use_annotated_classes(cfg: Config) -> None:
    """A COCO-format dataset whose config names no classes trains the classes of its validation
    annotation file (its categories in id order), and the heads get that many outputs: a user's own
    dataset is a data root, not a config. Without the file (data not there yet) the config is kept;
    training checks the data first (``check_datasets``)."""
    datasets = [innermost_dataset(cfg.get(f"{split}_dataloader", {})) for split in ("train", "val", "test")]
    datasets = [d for d in datasets if d is not None]
    ann_file = classes_file(cfg)
    if ann_file is None or any(d.get("metainfo", {}).get("classes") for d in datasets):
        return
    classes = annotation_classes(Path(ann_file))
    if classes is None:
        return
    for dataset in datasets:
        dataset["metainfo"] = {**dataset.get("metainfo", {}), "classes": classes}
    use_classes(cfg, classes)


def classes_file(cfg: Config) -> str | None:
    """The annotation file ``use_annotated_classes`` reads a config's classes from (there or not yet)."""
    val = innermost_dataset(cfg.get("val_dataloader", {}))
    if val is None or not str(val.get("ann_file", "")).endswith(".json"):
        return None
    return (Path(val.get("data_root", "")) / val["ann_file"]).as_posix()


def file_signature(path: str | None) -> list | None:
    """[path, modification time, size] of a file (None, None where it is absent): equal while it is unchanged."""
    if path is None:
        return None
    try:
        stat = Path(path).stat()
    except OSError:
        return [path, None, None]
    return [path, stat.st_mtime_ns, stat.st_size]


def annotation_classes(ann_file: Path) -> tuple[str, ...] | None:
    """The category names of a COCO annotation file, in id order; None if it cannot be read."""
    try:
        categories = json.loads(ann_file.read_text())["categories"]
        return tuple(c["name"] for c in sorted(categories, key=lambda c: c["id"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def innermost_dataset(loader: dict) -> dict | None:
    """A loader's dataset config, looking through repeat wrappers (a live part of the config)."""
    dataset = loader.get("dataset")
    while isinstance(dataset, dict) and "dataset" in dataset:
        dataset = dataset["dataset"]
    return dataset if isinstance(dataset, dict) else None


def loader_datasets(cfg: Config) -> list[tuple[str, dict]]:
    """(split, dataset config) the train and val loaders will read, looking through repeat wrappers."""
    found = [(split, innermost_dataset(cfg.get(f"{split}_dataloader", {}))) for split in ("train", "val")]
    return [(split, dataset) for split, dataset in found if dataset is not None and dataset.get("ann_file")]


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
    by reason. ``dataset_help`` (``load_config`` sets it) says where to get the data."""
    from .data.checks import check_coco, check_odgt

    how_to_get = cfg.get("dataset_help", "see the README's Data section")
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


TRAINED_KEYS = ("model", "train_cfg", "param_scheduler", "optim_wrapper", "train_dataloader")  # what a run trains


def trained_digest(cfg: Config) -> str:
    """A digest of what a config trains (model, schedule, optimiser, training data), not of where it logs;
    two spellings of one function (``one_matching_form``) or of one training (``one_training_form``: the epoch
    loops) digest alike."""
    import hashlib

    from .tracking import one_training_form

    tree = one_training_form(one_matching_form({key: cfg.to_dict().get(key) for key in TRAINED_KEYS}))
    return hashlib.sha256(json.dumps(tree, sort_keys=True, default=str).encode()).hexdigest()[:16]


def one_matching_form(tree):
    """``tree`` with every assigner's Eq. 1 written one way where its two forms are one function: at alpha 0
    both are the score p (p^1 IoU^0, 1 p + 0 IoU), at alpha 1 both the IoU, so "add" reads "multiply"."""
    if isinstance(tree, list | tuple):
        return [one_matching_form(item) for item in tree]
    if not isinstance(tree, dict):
        return tree
    tree = {key: one_matching_form(value) for key, value in tree.items()}
    if tree.get("combine") == "add" and tree.get("alpha") in (0, 1):
        tree["combine"] = "multiply"
    return tree


def still_holds(entry) -> bool:
    """A cached trained digest holds while the annotation file its classes came from is as it was."""
    if not isinstance(entry, dict):  # none, or a cache of an older layout
        return False
    recorded = entry.get("annotations")
    return recorded == file_signature(recorded[0] if recorded else None)


def check_distinct_experiments(plan, cache: Path | None = None) -> None:
    """Two experiment names that train the same model on the same schedule at the plan's scale would be one
    run reported twice (a scale that maps two backbones to one, say): stop, naming both. ``cache`` keeps the
    trained digest of each spec (``plan.spec_digest``) until a file under configs/, the code that resolves a
    config (o2f's sources), mmdet (its bundled base configs) or the annotation file the spec's classes come from
    changes, so a DAG start resolves no config twice."""
    import hashlib
    from importlib.metadata import version  # not `import mmdet`: that imports torch on every DAG parse

    configs = sorted((path.as_posix(), path.stat().st_mtime_ns, path.stat().st_size)
                     for path in Path("configs").rglob("*") if path.is_file())
    code = hashlib.sha256(version("mmdet").encode())
    for source in sorted(Path(__file__).parents[1].rglob("*.py")):
        code.update(source.read_bytes())
    rule = code.hexdigest()[:16]
    known = {}
    try:  # a cache another process is writing, or a broken one, is no cache
        stored = json.loads(cache.read_text()) if cache and cache.exists() else {}
        fresh = stored.get("configs") == json.loads(json.dumps(configs)) and stored.get("rule") == rule
        known = stored.get("digests", {}) if fresh else {}
    except (OSError, ValueError, AttributeError):
        known = {}
    seen: dict[str, str] = {}
    for name in plan.experiments_for():
        key = plan.spec_digest(name)
        entry = known.get(key)
        if not still_holds(entry):
            spec = plan.experiment_spec(name)
            cfg = load_config(spec["config"], plan.scale, spec.get("overrides") or None)
            entry = known[key] = {"digest": trained_digest(cfg), "annotations": file_signature(classes_file(cfg))}
        if entry["digest"] in seen:
            raise O2FError(f"experiments {seen[entry['digest']]} and {name} train the same model on the same schedule "
                           f"at scale '{plan.scale}'; give the scale a stand-in that keeps what their tables vary "
                           "(configs/_scales_/, scaled_backbones) or drop one")
        seen[entry["digest"]] = name
    if cache:  # written whole or not at all: every job of a cluster DAG parses the Snakefile, and checks too
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps({"configs": configs, "rule": rule, "digests": known}, sort_keys=True))
        partial.replace(cache)
