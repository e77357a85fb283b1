"""The demo recipe as it was before the step-cost work: what ``train_step.py --compare`` and
``training_wall.py`` measure the recipe against, stated once for both."""

from __future__ import annotations

from mmengine.config import Config

from o2f.pipeline.config import load_config

# float32, mmdet's NCHW ResNet and group norm, per-tensor AdamW, images decoded every time, batches loaded
# inline; without mixed precision, the channels-last backbone, neck and head, the fused AdamW kernel, the
# decoded-image cache, the prefetching loop and the one-slice 3D max filter
WAS = {"precision": "fp32", "model.backbone.type": "ResNet", "optim_wrapper.optimizer.fused": False,
       "train_dataloader.dataset.dataset.pipeline.0.type": "LoadImageFromFile", "model.bbox_head.norm_cfg.type": "GN",
       "train_cfg.type": "EpochBasedTrainLoop"}
WAS_DROP = ("model.backbone.channels_last_outputs",)  # ChannelsLastResNet's argument, not ResNet's
WAS_MAX_FILTER = "WholeStackMaxFilter3D"  # the 3D max filter's pooling as it was (o2f/models/max_filter.py)


def drop_keys(cfg: Config, keys: tuple[str, ...]) -> None:
    """Remove dotted config keys (a recipe's arguments that the older modules do not take)."""
    for key in keys:
        *parents, leaf = key.split(".")
        node = cfg
        for parent in parents:
            node = node.get(parent, {})
        node.pop(leaf, None)


def load_original(config: str, scale: str, overrides: dict | None = None) -> Config:
    """``config`` at ``scale`` as the recipe was, with ``overrides`` (a changed recipe) on top."""
    cfg = load_config(config, scale, {**(overrides or {}), **WAS})
    drop_keys(cfg, WAS_DROP)
    objectness = cfg.model.get("bbox_head", {}).get("objectness_module")
    if objectness:  # a head with a 3D max filter
        objectness.type = WAS_MAX_FILTER
    return cfg
