"""odgt <-> COCO on a hand-made sample: boxes, ignore regions and sizes survive both ways."""

from __future__ import annotations

import pytest

from o2f.errors import O2FError
from o2f.pipeline.data.crowdhuman import coco_to_odgt, odgt_to_coco, read_odgt, write_odgt

ODGT = [
    {"ID": "273271,1a0d6000b9e1f5b7", "gtboxes": [
        {"tag": "person", "fbox": [10, 20, 30, 60], "vbox": [12, 22, 20, 40], "hbox": [15, 20, 10, 10],
         "extra": {"ignore": 0}},
        {"tag": "mask", "fbox": [100, 5, 50, 50], "vbox": [100, 5, 50, 50], "hbox": [100, 5, 5, 5]},
        {"tag": "person", "fbox": [200, 30, 20, 50], "vbox": [200, 30, 20, 50], "hbox": [205, 30, 8, 8],
         "extra": {"ignore": 1}}]},
    {"ID": "284193,faa9000f2678b5e", "gtboxes": []},
]
SIZES = {"273271,1a0d6000b9e1f5b7": (480, 640), "284193,faa9000f2678b5e": (300, 400)}


def test_odgt_to_coco_marks_ignore_regions_as_crowd():
    coco = odgt_to_coco(ODGT, SIZES)
    assert [(i["file_name"], i["height"], i["width"]) for i in coco["images"]] == [
        ("273271,1a0d6000b9e1f5b7.jpg", 480, 640), ("284193,faa9000f2678b5e.jpg", 300, 400)]
    assert [(a["bbox"], a["iscrowd"], a["area"]) for a in coco["annotations"]] == [
        ([10, 20, 30, 60], 0, 1800), ([100, 5, 50, 50], 1, 2500), ([200, 30, 20, 50], 1, 1000)]


def test_round_trip_keeps_full_boxes_ignore_flags_and_sizes(tmp_path):
    records, sizes = coco_to_odgt(odgt_to_coco(ODGT, SIZES))
    write_odgt(records, tmp_path / "a.odgt")
    back = read_odgt(tmp_path / "a.odgt")
    assert sizes == SIZES
    assert [r["ID"] for r in back] == [r["ID"] for r in ODGT]
    for original, converted in zip(ODGT, back, strict=True):
        assert [b["fbox"] for b in converted["gtboxes"]] == [b["fbox"] for b in original["gtboxes"]]
        ignored = [b["tag"] == "mask" or b.get("extra", {}).get("ignore", 0) == 1 for b in original["gtboxes"]]
        assert [b["extra"]["ignore"] == 1 for b in converted["gtboxes"]] == ignored


def test_malformed_odgt_names_the_line(tmp_path):
    (tmp_path / "bad.odgt").write_text('{"ID": "a", "gtboxes": []}\n{"ID": \n')
    with pytest.raises(O2FError, match="malformed odgt line 2"):
        read_odgt(tmp_path / "bad.odgt")


def test_builtin_dataset_in_odgt_form_loads_in_mmdets_crowdhuman_dataset(synthetic_root, synthetic_odgt_root):
    """The odgt copy has every image (as jpg, with its size cached) and every box of the COCO source."""
    import json

    import cv2
    from mmdet.datasets import CrowdHumanDataset

    coco = json.loads((synthetic_root / "annotations" / "val.json").read_text())
    dataset = CrowdHumanDataset(data_root=str(synthetic_odgt_root), ann_file="annotation_val.odgt",
                                data_prefix=dict(img="Images/"), metainfo=dict(classes=("object",)),
                                test_mode=True, pipeline=[])
    assert len(dataset) == len(coco["images"])
    boxes = sorted(tuple(round(v, 3) for v in inst["bbox"]) for i in range(len(dataset))
                   for inst in dataset.get_data_info(i)["instances"] if inst["bbox_label"] == 0)
    expected = sorted(tuple(round(v, 3) for v in (x, y, x + w, y + h)) for x, y, w, h in
                      (a["bbox"] for a in coco["annotations"]))
    assert boxes == expected
    first = dataset.get_data_info(0)
    assert cv2.imread(first["img_path"]).shape[:2] == (first["height"], first["width"])
