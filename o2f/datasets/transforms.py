"""A data transform mmdet lacks: random transposition, for rotation-free aerial imagery.

With mmdet's horizontal/vertical flips it completes the 8 flip/90-degree-rotation variants of a
top-down image, which has no "up".
"""

from __future__ import annotations

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomTranspose(BaseTransform):
    """Swap the x and y axes of the image and its boxes with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        if "gt_masks" in results:
            raise NotImplementedError("RandomTranspose does not transform instance masks")
        results["img"] = np.ascontiguousarray(results["img"].transpose(1, 0, 2))
        results["img_shape"] = results["img"].shape[:2]
        if results.get("gt_bboxes") is not None:
            boxes = results["gt_bboxes"]
            boxes.tensor = boxes.tensor[:, [1, 0, 3, 2]]
        return results

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(prob={self.prob})"
