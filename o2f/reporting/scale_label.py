"""What ran, in words, for the titles of tables and figures at scales other than ``full``.

A scale swaps the data set, backbone and image size of every experiment (``configs/_scales_/``), so a
demo table titled "COCO val (ResNet-50)" would claim the paper's setting for a ResNet-18 trained on tree
crowns. The words here are read from the scale's config file (backbone, image sizes) and its data root
(``configs/pipeline.yaml``), so they follow the scale when it changes. Reading the config needs
mmengine's ``Config`` only, which imports neither torch nor mmcv: reports render without them.
"""

from __future__ import annotations

import re
import textwrap
from functools import cache

from ..pipeline.layout import BUILTIN_DATA, DEFAULT_FAMILY, ODGT_FILES, Layout, backbone_kind, scale_file

COMPARABLE_SCALE = "full"  # the scale whose numbers compare with the paper's directly
# Data roots that configs/pipeline.yaml names, in words; a root not listed is named by its path.
DATASETS = {
    "data/demo_trees": "aerial tree crowns (deepforest)",
    "data/synthetic_shapes": "synthetic shapes",
    "data/synthetic_shapes_demo": "synthetic shapes",
    "data/coco": "COCO 2017",
    "data/crowdhuman": "CrowdHuman",
}
ODGT_SUFFIX = "_odgt"  # a built-in root rewritten in CrowdHuman's layout (`o2f prepare-data odgt`)
BACKBONE_NAMES = {"ResNet": "ResNet", "ChannelsLastResNet": "ResNet", "SwinTransformer": "Swin"}
DEFAULT_BASE_CHANNELS = 64  # mmdet's ResNet; another width is worth saying
# "Table 5. Comparisons ...": the name, then what the paper's table shows ("." or ":" then a space)
TITLE_SPLIT = re.compile(r"^(?P<name>.+?)[.:]\s+(?P<rest>.+)$")
FIGURE_WRAP = 110  # characters per line of a figure's title


def dataset_description(root: str) -> str:
    """The data set behind a data root; a built-in root in CrowdHuman's layout says so."""
    root = root.rstrip("/")
    if BUILTIN_DATA.get(root) == ODGT_FILES and root.endswith(ODGT_SUFFIX):
        return f"{dataset_description(root.removesuffix(ODGT_SUFFIX))} in CrowdHuman's odgt layout"
    return DATASETS.get(root, f"the data at {root}")


def backbone_description(backbone: dict | None) -> str:
    """"ResNet-18 (32 base channels, from scratch)"; "" where the scale keeps each experiment's backbone."""
    if not backbone or "type" not in backbone:
        return ""
    kind = str(backbone["type"])
    name = BACKBONE_NAMES.get(kind, kind)
    name = f"{name}-{backbone['depth']}" if "depth" in backbone else name
    details = []
    if "embed_dims" in backbone:  # a Swin: its width and its blocks per stage
        details.append(f"{backbone['embed_dims']}-dim embedding, depths {'-'.join(map(str, backbone['depths']))}")
    elif backbone.get("base_channels", DEFAULT_BASE_CHANNELS) != DEFAULT_BASE_CHANNELS:
        details.append(f"{backbone['base_channels']} base channels")
    if backbone.get("_delete_") and backbone.get("init_cfg", None) is None:
        details.append("from scratch")  # replaced whole, without the experiment's pretrained weights
    return f"{name} ({', '.join(details)})" if details else name


def transform_size(pipeline: list, kinds: tuple[str, ...], key: str) -> str:
    """The size a pipeline's first transform of ``kinds`` gives ("256" for a square, "320x256"), or ""."""
    for step in pipeline or []:
        if step.get("type") in kinds and key in step:
            width, height = (step[key], step[key]) if isinstance(step[key], int) else step[key][:2]
            return f"{width}" if width == height else f"{width}x{height}"
    return ""


def image_description(cfg) -> str:
    """"256-px crops, 384-px test images", or "128-px images" where training and test sizes agree."""
    crop = transform_size(cfg.get("train_pipeline"), ("RandomCrop",), "crop_size")
    train = crop or transform_size(cfg.get("train_pipeline"), ("Resize", "RandomResize"), "scale")
    test = transform_size(cfg.get("test_pipeline"), ("Resize",), "scale")
    if not (train or test):
        return ""
    if train == test or not test:
        return f"{train}-px images"
    if not train:
        return f"{test}-px test images"
    return f"{train}-px {'crops' if crop else 'training images'}, {test}-px test images"


@cache
def scale_config(scale: str, family: str):
    """The scale's override file for a family, as loaded (its ``_base_`` merged in)."""
    from mmengine.config import Config

    return Config.fromfile(str(scale_file(scale, family)))


@cache
def paper_backbone(config: str) -> str:
    """The kind of backbone an experiment config trains at full scale (``resnet50``, ``swin``)."""
    from mmengine.config import Config

    return backbone_kind(Config.fromfile(config, import_custom_modules=False))


def stand_in_kind(scale: str, family: str, kind: str) -> str | None:
    """``kind`` where the scale trains a stand-in of its own for it (``scaled_backbones``), else None: the
    scale's one backbone replaces it."""
    return kind if kind in (scale_config(scale, family).get("scaled_backbones") or {}) else None


def scale_backbone(scale: str, family: str, kind: str | None = None) -> dict | None:
    """The backbone a scale trains for a paper backbone ``kind`` (o2f.pipeline.config.use_scaled_backbone):
    its ``scaled_backbones`` entry, which replaces the experiment's whole, else its ``model.backbone``."""
    cfg = scale_config(scale, family)
    stand_in = (cfg.get("scaled_backbones") or {}).get(kind)
    return {**stand_in, "_delete_": True} if stand_in else cfg.get("model", {}).get("backbone")


def scale_description(scale: str, family: str = DEFAULT_FAMILY, root: str | None = None,
                      kind: str | None = None) -> str:
    """What a family's experiments train at a scale: "ResNet-18 (32 base channels, from scratch) on aerial
    tree crowns (deepforest), 256-px crops, 384-px test images". ``root``: the family's data root as the
    DAG runs it (default: configs/pipeline.yaml's); ``kind``: the experiments' paper backbone, where the
    scale keeps a stand-in for it."""
    cfg = scale_config(scale, family)
    root = root or Layout.from_settings_file(scale).data_root(family)
    backbone = backbone_description(scale_backbone(scale, family, kind))
    words = f"{backbone} on {dataset_description(root)}" if backbone else dataset_description(root)
    images = image_description(cfg)
    return f"{words}, {images}" if images else words


def trained_setups(plan, experiments) -> dict[str, str]:
    """What ran for the experiments, in first-use order: config family -> description, and "family (kind)"
    for the paper backbones the scale keeps a stand-in for (Table 6's ResNet-101, Table 7's Swin)."""
    setups = {}
    for experiment in experiments:
        family = plan.family(experiment)
        config = str(plan.root / plan.experiment_spec(experiment)["config"])
        kind = stand_in_kind(plan.scale, family, paper_backbone(config))
        setups[f"{family} ({kind})" if kind else family] = (family, kind)
    return {label: scale_description(plan.scale, family, plan.layout.data_root(family), kind)
            for label, (family, kind) in setups.items()}


def what_ran(plan, name: str) -> str:
    """The scale's description for a table or figure; each family (and stand-in backbone) named where it
    shows several."""
    described = trained_setups(plan, plan.experiments_for([name])) or {
        DEFAULT_FAMILY: scale_description(plan.scale, DEFAULT_FAMILY, plan.layout.data_root(DEFAULT_FAMILY))}
    if len(set(described.values())) == 1:
        return next(iter(described.values()))
    return "; ".join(f"{label} configs: {text}" for label, text in described.items())


def split_title(title: str) -> tuple[str, str]:
    """("Table 5", "Comparisons ... (ResNet-50).") from the paper's title; ("", title) without a name."""
    found = TITLE_SPLIT.match(title.strip())
    return (found["name"], found["rest"]) if found else ("", title.strip())


def report_title(plan, name: str) -> str:
    """A table's or figure's title at the plan's scale: the paper's own at ``full``; elsewhere what ran
    first, then the paper's table name and setting, so no reader takes a demo number for COCO's."""
    spec = plan.tables.get(name) or plan.figures[name]
    if plan.scale == COMPARABLE_SCALE:
        return spec["title"]
    paper_name, rest = split_title(spec["title"])
    kind = "table (its values beside ours)" if name in plan.tables else "figure"
    head = f"{paper_name or name} at {plan.scale} scale"
    return f"{head}, ours: {what_ran(plan, name)}. The paper's {kind}: {rest}"


def wrapped(title: str, width: int = FIGURE_WRAP) -> str:
    """A long title in lines that fit a figure."""
    return "\n".join(textwrap.wrap(title, width))


def scale_descriptions(plan) -> dict[str, str]:
    """What ran, for every family (and stand-in backbone) the configured tables train; {} at ``full``."""
    if plan.scale == COMPARABLE_SCALE:
        return {}
    return trained_setups(plan, plan.experiments_for())
