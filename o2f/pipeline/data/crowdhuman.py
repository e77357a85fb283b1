"""CrowdHuman's ``.odgt`` annotations <-> COCO json.

One ``.odgt`` line per image: ``{"ID", "gtboxes": [{"tag", "fbox", "vbox", "hbox", "extra"}]}``,
boxes as [x, y, w, h]. A box tagged "mask" or with ``extra.ignore`` set is an ignore region; it
becomes an ``iscrowd`` annotation in COCO, and back. The full box (``fbox``) is the detection box;
COCO carries no visible/head boxes, so going COCO -> odgt they repeat the full box.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ...errors import O2FError

IGNORE_TAG = "mask"


def read_odgt(path: str | Path) -> list[dict]:
    records = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise O2FError(f"malformed odgt line {number} in {path}: {err}") from err
    return records


def write_odgt(records: Iterable[dict], path: str | Path) -> None:
    Path(path).write_text("".join(json.dumps(r) + "\n" for r in records))


def is_ignore(box: dict) -> bool:
    return box.get("tag") == IGNORE_TAG or bool(box.get("extra", {}).get("ignore", 0))


def odgt_to_coco(records: list[dict], sizes: dict[str, tuple[int, int]], category: str = "person") -> dict:
    """COCO json from odgt records; ``sizes`` maps an image ID to (height, width)."""
    images, annotations = [], []
    for image_id, record in enumerate(records, start=1):
        height, width = sizes[record["ID"]]
        images.append({"id": image_id, "file_name": f"{record['ID']}.jpg", "height": height, "width": width})
        for box in record.get("gtboxes", []):
            x, y, w, h = box["fbox"]
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": [x, y, w, h], "area": w * h, "iscrowd": int(is_ignore(box))})
    return {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": category}]}


def coco_to_odgt(coco: dict, category: str = "person") -> tuple[list[dict], dict[str, tuple[int, int]]]:
    """odgt records (IDs are the file names without extension) and the (height, width) of each ID."""
    by_image: dict[int, list[dict]] = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        ignore = bool(ann.get("iscrowd", 0))
        box = list(ann["bbox"])
        by_image[ann["image_id"]].append({"tag": IGNORE_TAG if ignore else category, "fbox": box, "vbox": box,
                                          "hbox": box, "extra": {"ignore": int(ignore)}})
    records, sizes = [], {}
    for img in coco["images"]:
        image_id = Path(img["file_name"]).stem
        records.append({"ID": image_id, "gtboxes": by_image[img["id"]]})
        sizes[image_id] = (img["height"], img["width"])
    return records, sizes


def dataset_category(coco: dict) -> str:
    """The odgt tag for a COCO dataset: its category's name, or "object" when it has several."""
    names = [c["name"] for c in coco.get("categories", [])]
    return names[0] if len(names) == 1 else "object"


def write_odgt_dataset(source: str | Path, out: str | Path, category: str | None = None) -> dict:
    """A COCO-layout dataset (``annotations/{train,val}.json`` + ``images/``) in CrowdHuman's layout:
    ``annotation_{split}.odgt``, ``Images/<ID>.jpg`` and the ``id_hw_{split}.json`` size cache that
    mmdet's ``CrowdHumanDataset`` reads, so the CrowdHuman configs run on the built-in data."""
    import cv2

    source, out = Path(source), Path(out)
    (out / "Images").mkdir(parents=True, exist_ok=True)
    summary = {}
    for split in ("train", "val"):
        ann_file = source / "annotations" / f"{split}.json"
        if not ann_file.exists():
            raise O2FError(f"annotation file {ann_file} does not exist; prepare the source dataset first")
        coco = json.loads(ann_file.read_text())
        records, sizes = coco_to_odgt(coco, category or dataset_category(coco))
        for image in coco["images"]:
            target = out / "Images" / f"{Path(image['file_name']).stem}.jpg"
            if not target.exists():
                pixels = cv2.imread(str(source / "images" / image["file_name"]))
                if pixels is None:
                    raise O2FError(f"cannot read image {source / 'images' / image['file_name']}")
                cv2.imwrite(str(target), pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])
        write_odgt(records, out / f"annotation_{split}.odgt")
        (out / f"id_hw_{split}.json").write_text(json.dumps({k: list(v) for k, v in sizes.items()}))
        summary[split] = {"images": len(records), "boxes": sum(len(r["gtboxes"]) for r in records)}
    return summary
