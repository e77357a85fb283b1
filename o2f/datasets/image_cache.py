"""Decode each training image once: the demo set is 38 small tiles read 37 times an epoch."""

from __future__ import annotations

from mmcv.transforms import LoadImageFromFile
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CachedLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` keeping every decoded image in memory, keyed by path.

    Later transforms get a copy, so augmentation never alters the cached pixels. Meant for datasets
    that fit in memory and loaders without worker processes (each worker would hold its own cache).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._decoded: dict[str, dict] = {}

    def transform(self, results: dict) -> dict | None:
        path = results["img_path"]
        if path not in self._decoded:
            loaded = super().transform(dict(img_path=path))
            if loaded is None:  # ignore_empty and a missing file
                return None
            self._decoded[path] = {k: loaded[k] for k in ("img", "img_shape", "ori_shape")}
        cached = self._decoded[path]
        results.update(img=cached["img"].copy(), img_shape=cached["img_shape"], ori_shape=cached["ori_shape"])
        return results
