"""Deterministic synthetic shapes with instance masks, for fast tests, the ``ci`` scale and the CondInst demo.

Each image holds a few filled rectangles and ellipses (two classes) on a noisy background;
boxes and RLE masks are written as COCO json, so the same dataset classes and metrics run on it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

CATEGORIES = [{"id": 1, "name": "rectangle"}, {"id": 2, "name": "ellipse"}]


def draw_instance(rng: np.random.Generator, size: int) -> tuple[np.ndarray, int]:
    """One random shape as a boolean mask and its category id."""
    yy, xx = np.mgrid[:size, :size]
    w, h = rng.integers(size // 8, size // 3, 2)
    cx, cy = rng.integers(w // 2 + 1, size - w // 2 - 1), rng.integers(h // 2 + 1, size - h // 2 - 1)
    category = int(rng.integers(1, 3))
    if category == 1:
        mask = (abs(xx - cx) <= w / 2) & (abs(yy - cy) <= h / 2)
    else:
        mask = ((xx - cx) / (w / 2)) ** 2 + ((yy - cy) / (h / 2)) ** 2 <= 1
    return mask, category


def make_split(out_root: Path, split: str, num_images: int, size: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    image_dir = out_root / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(1, num_images + 1):
        canvas = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
        occupied = np.zeros((size, size), bool)
        for _ in range(int(rng.integers(1, 5))):
            mask, category = draw_instance(rng, size)
            visible = mask & ~occupied  # later shapes lie under earlier ones
            if visible.sum() < 0.6 * mask.sum():
                continue
            occupied |= visible
            canvas[visible] = (200, 80, 80) if category == 1 else (80, 200, 80)
            rle = mask_utils.encode(np.asfortranarray(visible.astype(np.uint8)))
            x, y, w, h = (float(v) for v in mask_utils.toBbox(rle))
            rle["counts"] = rle["counts"].decode("ascii")
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                                "bbox": [x, y, w, h], "area": float(visible.sum()), "iscrowd": 0,
                                "segmentation": rle})
        name = f"{split}_{image_id:04d}.png"
        Image.fromarray(canvas).save(image_dir / name)
        images.append({"id": image_id, "file_name": name, "width": size, "height": size})
    coco = {"images": images, "annotations": annotations, "categories": CATEGORIES}
    ann_dir = out_root / "annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    (ann_dir / f"{split}.json").write_text(json.dumps(coco))
    return {"images": len(images), "boxes": len(annotations)}


def prepare_synthetic_shapes(out_root: Path, num_train: int = 16, num_val: int = 8, size: int = 128,
                             seed: int = 0) -> dict:
    """Write train and val splits; the same seed always gives the same files."""
    return {"train": make_split(out_root, "train", num_train, size, seed),
            "val": make_split(out_root, "val", num_val, size, seed + 1)}


# The CondInst demo scale (Table 9 on a CPU): the same generator, enough images for a meaningful mask AP.
DEMO_SPLITS = dict(num_train=800, num_val=100, size=128, seed=100)


def prepare_synthetic_shapes_demo(out_root: Path) -> dict:
    return prepare_synthetic_shapes(out_root, **DEMO_SPLITS)
