"""Pre-flight data checks: every image decodes, and no box is left out of training without a word.

mmdet's ``CocoDataset`` silently skips degenerate boxes and boxes of categories the config does not
train; ``CrowdHumanDataset`` silently turns boxes whose tag is not a trained class into ignore regions.
These checks count what each would leave out, by the same rules, and report it in one line per split;
a split with no usable box stops the run before anything is trained.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2

from ...errors import DataError
from .crowdhuman import is_ignore, read_odgt


@dataclass
class SplitReport:
    """What one annotation file gives training: images, usable boxes, and what is left out, by reason."""

    split: str
    ann_file: Path
    classes: tuple[str, ...]
    images: int = 0
    usable: int = 0
    ignore_regions: int = 0
    degenerate: int = 0
    unknown_category: int = 0
    untrained_class: int = 0
    unknown_image: int = 0

    def left_out(self) -> str:
        parts = [f"{self.degenerate} degenerate (width or height < 1, or outside the image)",
                 f"{self.unknown_category} with a category id not in 'categories'",
                 f"{self.untrained_class} of a class the config does not train ({', '.join(self.classes)})"]
        if self.unknown_image:
            parts.append(f"{self.unknown_image} on an image id not in 'images'")
        return ", ".join(parts)

    def line(self) -> str:
        return (f"data check {self.split} ({self.ann_file}): {self.images} images decode, {self.usable} usable "
                f"boxes, {self.ignore_regions} ignore regions; left out: {self.left_out()}")

    def require_usable(self) -> None:
        if self.usable == 0:
            raise DataError(f"{self.ann_file} has no usable box for training ({self.left_out()}); "
                            "fix the annotations or the config's classes")


def decodes(path: Path) -> str | None:
    """Why ``path`` cannot be read as mmcv reads it (OpenCV), or None. JPEGs decode at 1/8 size: every
    byte is still parsed, at a fraction of the cost."""
    if not path.is_file():
        return "missing"
    image = cv2.imread(str(path), cv2.IMREAD_REDUCED_COLOR_8)
    return None if image is not None and image.size else "does not decode"


def check_images(paths: list[Path]) -> None:
    """Stop, naming the first bad file and how many there are, unless every image exists and decodes."""
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # OpenCV releases the GIL
        problems = [(path, why) for path, why in zip(paths, pool.map(decodes, paths), strict=True) if why]
    if problems:
        path, why = problems[0]
        others = f" (and {len(problems) - 1} more unreadable images)" if len(problems) > 1 else ""
        raise DataError(f"image {path} {why}{others}; replace or remove it, or fix the annotation file")


def degenerate(x: float, y: float, w: float, h: float, width: float, height: float) -> bool:
    """mmdet's CocoDataset rule: no overlap with the image, or a side shorter than one pixel."""
    inter_w = max(0.0, min(x + w, width) - max(x, 0.0))
    inter_h = max(0.0, min(y + h, height) - max(y, 0.0))
    return inter_w * inter_h == 0 or w < 1 or h < 1


def load_coco(ann_file: Path) -> dict:
    try:
        content = json.loads(ann_file.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"malformed annotation json {ann_file}: {err}") from err
    if not isinstance(content, dict) or not {"images", "annotations"} <= content.keys():
        raise DataError(f"malformed annotation json {ann_file}: expected COCO keys 'images' and 'annotations'")
    if not content["images"]:
        raise DataError(f"annotation file {ann_file} lists no images")
    if not content["annotations"]:
        raise DataError(f"annotation file {ann_file} lists no annotations")
    return content


def check_coco(split: str, ann_file: Path, image_dir: Path, classes: tuple[str, ...]) -> SplitReport:
    """A COCO json as mmdet's CocoDataset reads it."""
    coco = load_coco(ann_file)
    report = SplitReport(split, ann_file, classes, images=len(coco["images"]))
    category_names = {c["id"]: c["name"] for c in coco.get("categories", [])}
    images = {img["id"]: img for img in coco["images"]}
    for ann in coco["annotations"]:
        image = images.get(ann.get("image_id"))
        if ann.get("ignore", False):
            continue  # an explicit ignore mark: mmdet skips it, as asked
        if image is None:
            report.unknown_image += 1
        elif degenerate(*ann["bbox"], image["width"], image["height"]) or ann.get("area", 1) <= 0:
            report.degenerate += 1
        elif ann["category_id"] not in category_names:
            report.unknown_category += 1
        elif category_names[ann["category_id"]] not in classes:
            report.untrained_class += 1
        elif ann.get("iscrowd", 0):
            report.ignore_regions += 1
        else:
            report.usable += 1
    check_images([image_dir / img["file_name"] for img in coco["images"]])
    return report


def check_odgt(split: str, ann_file: Path, image_dir: Path, classes: tuple[str, ...]) -> SplitReport:
    """A CrowdHuman odgt as mmdet's CrowdHumanDataset reads it (images are ``<ID>.jpg``)."""
    records = read_odgt(ann_file)
    if not records:
        raise DataError(f"annotation file {ann_file} lists no images")
    report = SplitReport(split, ann_file, classes, images=len(records))
    for record in records:
        for box in record.get("gtboxes", []):
            x, y, w, h = box["fbox"]
            if is_ignore(box):
                report.ignore_regions += 1
            elif w < 1 or h < 1:
                report.degenerate += 1
            elif box.get("tag") not in classes:
                report.untrained_class += 1
            else:
                report.usable += 1
    check_images([image_dir / f"{record['ID']}.jpg" for record in records])
    return report
