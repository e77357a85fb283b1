"""Demo data preparation: tiling, clipping and the spatial train/val split on a hand-made VOC sample."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from o2f.errors import DataError
from o2f.pipeline.data.demo_trees import (
    Box,
    boxes_in_tile,
    build_from_folder,
    read_voc_boxes,
    split_regions,
    tile_starts,
)

VOC = """<annotation><size><width>{w}</width><height>{h}</height></size>{objects}</annotation>"""
OBJ = "<object><name>Tree</name><bndbox><xmin>{}</xmin><ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox></object>"


def write_sample(folder, name, size, boxes):
    w, h = size
    Image.fromarray(np.zeros((h, w, 3), np.uint8)).save(folder / f"{name}.png")
    objects = "".join(OBJ.format(*b) for b in boxes)
    (folder / f"{name}.xml").write_text(VOC.format(w=w, h=h, objects=objects))


def test_tile_spans_cover_the_axis_without_overlap():
    assert tile_starts(800, 400) == [(0, 400), (400, 800)]
    assert tile_starts(1000, 400) == [(0, 333), (333, 667), (667, 1000)]
    assert tile_starts(420, 400) == [(0, 420)]  # no 20 px sliver


def test_box_kept_when_half_inside_and_clipped_to_tile():
    boxes = [Box(390, 10, 420, 30),   # 10 of 30 px inside the tile [0, 400): dropped
             Box(380, 50, 420, 70),   # exactly half inside: kept and clipped
             Box(10, 10, 50, 50)]     # fully inside: unchanged
    assert boxes_in_tile(boxes, 0, 0, 400, 400) == [Box(380, 50, 400, 70), Box(10, 10, 50, 50)]
    # The right-hand tile sees the first box (20 of 30 px) shifted into its own coordinates.
    assert boxes_in_tile(boxes, 400, 0, 800, 400) == [Box(0, 10, 20, 30), Box(0, 50, 20, 70)]


def test_split_is_spatial_top_seventy_percent_trains():
    assert split_regions(1000) == {"train": (0, 700), "val": (700, 1000)}


def test_build_writes_coco_with_expected_boxes(tmp_path):
    source = tmp_path / "voc"
    source.mkdir()
    # 800 x 1000 image: train rows [0, 700) in 2 x 2 tiles, val rows [700, 1000) in 2 x 1 tiles.
    write_sample(source, "scene", (800, 1000), [(100, 100, 200, 200),    # train, tile (0, 0)
                                                 (350, 300, 450, 340),    # train, split across x = 400
                                                 (500, 680, 560, 760),    # crosses the split: 25 % train
                                                 (600, 900, 700, 980)])   # val, tile (400, 700)
    summary = build_from_folder(source, tmp_path / "out")
    train = json.loads((tmp_path / "out/annotations/train.json").read_text())
    val = json.loads((tmp_path / "out/annotations/val.json").read_text())
    assert summary == {"train": {"images": 4, "boxes": 3}, "val": {"images": 2, "boxes": 2}}
    file_of = {img["id"]: img["file_name"] for img in train["images"]}
    boxes = {(file_of[a["image_id"]], tuple(a["bbox"])) for a in train["annotations"]}
    assert boxes == {("scene_train_0_0.png", (100, 100, 100, 100)),
                     ("scene_train_0_0.png", (350, 300, 50, 40)),     # half of it, clipped at 400
                     ("scene_train_400_0.png", (0, 300, 50, 40))}
    val_boxes = sorted(tuple(a["bbox"]) for a in val["annotations"])
    assert val_boxes == [(100, 0, 60, 60), (200, 200, 100, 80)]  # 75 % of the crossing box; the val box
    assert {img["height"] for img in val["images"]} == {300}
    assert (tmp_path / "out/images/scene_val_400_700.png").exists()


def test_malformed_voc_names_the_file(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<annotation><object><bndbox><xmin>1</xmin></bndbox></object>")
    with pytest.raises(DataError, match="malformed VOC annotation .*bad.xml"):
        read_voc_boxes(bad)
