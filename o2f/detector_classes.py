"""A detector's classes, set in its config: a checkpoint's when detecting, an annotation file's when training.
Plain config edits, so the pipeline and deploy share it without importing each other."""

from __future__ import annotations


def use_classes(cfg, classes) -> None:
    """``classes`` become the config's and size its heads: a checkpoint's (detecting needs no dataset on
    this machine) or an annotation file's (``o2f.pipeline.config``)."""
    if not classes:
        return
    cfg.metainfo = dict(classes=tuple(classes))
    for head in ("bbox_head", "mask_head"):
        if "num_classes" in cfg.model.get(head, {}):
            cfg.model[head]["num_classes"] = len(classes)
