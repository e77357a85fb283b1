"""Report cells at each scale, the per-seed CSV, the claims at the top of index.html, and Figure 6."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from dag import settings, write_evidence
from PIL import Image

from o2f.pipeline.plan import Plan
from o2f.reporting.figures import crop_window, footprint, pick_objects, score_map_figure
from o2f.reporting.index import render_index
from o2f.reporting.results import Results
from o2f.reporting.scale_label import (
    backbone_description,
    dataset_description,
    image_description,
    report_title,
)
from o2f.reporting.tables import cells_note, runs_note, table_frame, write_table


def write_final(work: Path, scale: str, experiment: str, seed: int, final: dict) -> None:
    write_evidence(work, scale, experiment, seed, [{"epoch": 12, **final}])


def plan_at(repo_root, scale: str, **changes) -> Plan:
    return Plan.from_files(repo_root / "configs/tables.yaml", settings(repo_root, scale=scale, **changes),
                           root=repo_root)


def test_full_scale_cells_stay_ours_over_paper(repo_root, tmp_path):
    plan = plan_at(repo_root, "full", seeds=[0, 1])
    for seed, ap in ((0, 0.386), (1, 0.390)):
        write_final(tmp_path, "full", "fcos_r50_1x", seed, {"coco/nms_bbox_mAP": ap, "coco/nonms_bbox_mAP": 0.17})
    frame = table_frame(plan, Results(plan, root=tmp_path), "table5", seeds=True)
    assert frame.loc[0, "AP(1x)"] == "38.8 ± 0.3 / 38.6 (+0.2)"
    assert frame.loc[1, "AP(1x)"] == "17.0 ± 0.0 / 17.7 (-0.7)"
    assert frame.loc[0, "AP(3x)"] == "not finished / 41.4"  # 3x runs at full scale
    assert frame.loc[0, "AP(1x) [seed 0]"] == "38.60" and frame.loc[0, "AP(1x) [seed 1]"] == "39.00"
    assert cells_note(plan, "table5").startswith("Cells: ours / paper")


def test_demo_cells_compare_with_the_reference_cell_and_the_csv_keeps_each_seed(repo_root, tmp_path):
    plan = plan_at(repo_root, "demo", seeds=[0, 1])
    results = Results(plan, root=tmp_path)
    # Table 3's reference is one cell, the default T_max 0.6 / T_min 0.2 (the o2f_r50_1x run)
    write_final(tmp_path, "demo", "o2f_r50_1x", 0, {"coco/nonms_bbox_mAP": 0.140, "coco/nms_bbox_mAP": 0.150})
    write_final(tmp_path, "demo", "o2f_r50_1x", 1, {"coco/nonms_bbox_mAP": 0.142, "coco/nms_bbox_mAP": 0.150})
    write_final(tmp_path, "demo", "o2f_r50_1x_tmax0.6_tmin0.1", 0,
                {"coco/nonms_bbox_mAP": 0.130, "coco/nms_bbox_mAP": 0.135})
    frame = table_frame(plan, results, "table3", seeds=True)
    rows = {name: i for i, name in enumerate(frame["Method"])}
    assert frame.loc[rows["T_min=0.2"], "T_max=0.6"] == "14.1 ± 0.1/15.0 ± 0.0 (n=2); reference"
    # w/o / w/ NMS: 13.0 - 14.1, 13.5 - 15.0; the paper's 38.9/39.1 - 39.0/39.3
    assert frame.loc[rows["T_min=0.1"], "T_max=0.6"] == "13.0/13.5 (n=1); Δ -1.1/-1.5 (paper -0.1/-0.2)"
    assert frame.loc[rows["T_min=0.1"], "T_max=0.6 [seed 0]"] == "13.00/13.50"
    assert frame.loc[rows["T_min=0.1"], "T_max=0.6 [seed 1]"] == ""  # seed 1 did not finish
    assert frame.loc[rows["T_min=0.4"], "T_max=0.6"] == "not finished"

    # Table 1's reference is a column (one-to-one): the same row, that column
    write_final(tmp_path, "demo", "o2o_r50_1x", 0, {"coco/nonms_bbox_mAP": 0.120})
    write_final(tmp_path, "demo", "static_t0.2_r50_1x", 0, {"coco/nonms_bbox_mAP": 0.125})
    table1 = table_frame(plan, results, "table1")
    assert table1.loc[0, "one-to-one"] == "12.0 (n=1); reference"
    assert table1.loc[0, "t=0.2"] == "12.5 (n=1); Δ +0.5 (paper +1.0)"
    assert "(one-to-one) in the same row" in cells_note(plan, "table1")

    paths = write_table(table_frame(plan, results, "table3", seeds=True), "Table 3.", tmp_path / "table3", "demo",
                        note=cells_note(plan, "table3"))
    csv, md = pd.read_csv(paths[0], keep_default_na=False), paths[1].read_text()
    assert "T_max=0.6 [seed 1]" in csv.columns and "[seed" not in md and "[seed" not in paths[2].read_text()
    assert "Δ: the cell minus the reference cell (T_min=0.2, T_max=0.6)" in md


def test_a_cell_keeping_a_failed_run_says_so_and_the_note_says_why(repo_root, tmp_path):
    """FCOS seed 2's box loss sat at 1.0 for three epochs: its cell keeps the seed and names it failed; the
    table's note names the runs' kind and gives the rule's reason; cells of healthy runs are unchanged."""
    plan = plan_at(repo_root, "demo", seeds=[0, 1, 2])
    for seed, ap in ((0, 0.40), (1, 0.42), (2, 0.10)):
        dead = [{"epoch": e, "loss_bbox": 1.0} for e in (1, 2, 3)] if seed == 2 else []
        write_evidence(tmp_path, "demo", "fcos_r50_1x", seed, [{"epoch": 12, "coco/nms_bbox_mAP": ap}],
                       losses=dead, box_loss_weight=1.0)
        write_final(tmp_path, "demo", "poto_r50_1x", seed, {"coco/nonms_bbox_mAP": 0.30})
    results = Results(plan, root=tmp_path)
    frame = table_frame(plan, results, "headline")
    assert list(frame["Method"][:3]) == ["FCOS", "FCOS", "POTO"] and list(frame["NMS"][:2]) == ["yes", "no"]
    assert frame.loc[0, "AP(1x)"].endswith("(n=3); reference; failed: seed 2")
    assert frame.loc[1, "AP(1x)"].endswith("; failed: seed 2")  # the same runs without NMS
    assert "failed" not in frame.loc[2, "AP(1x)"]
    note = runs_note(plan, results, "headline")
    assert note.startswith(" Runs from: Test CPU, AMX-BF16; bf16. Failed runs (o2f/failed_run.py)")
    assert "fcos_r50_1x seed 2: loss_bbox stuck at its degenerate value 1 " in note
    assert runs_note(plan, Results(plan, root=tmp_path / "none"), "headline") == ""


def test_index_shows_the_claims_first_without_the_seed_columns(tmp_path, repo_root):
    reports = tmp_path / "reports"
    reports.mkdir()
    pd.DataFrame({"Method": ["FCOS"], "AP(1x)": ["15.0 (n=1); reference"], "AP(1x) [seed 0]": ["15.00"]}) \
        .to_csv(reports / "table5.csv", index=False)
    pd.DataFrame([{"id": "5", "claim": "One-to-few beats POTO+3DMF+Aux.", "holds if": "> 0", "paper": "1.4",
                   "ours (mean)": "2.2", "95% interval": "[1.7, 2.7]", "seed-only t": "[1.6, 2.8]", "n": "3",
                   "verdict": "holds", "after Holm": "holds", "note": "", "seed 0": "2.00"}]) \
        .to_csv(reports / "claims.csv", index=False)
    page = render_index({"table5": ("Table 5.", Path("table5.csv"))}, {}, reports / "index.html", "demo", [],
                        repo_root, claims=Path("claims.csv")).read_text()
    assert page.index("Does the paper hold?") < page.index("Table 5.")
    assert "<td style='background:#d9f2d9'><b>holds</b></td>" in page and "[1.7, 2.7]" in page
    assert "[seed 0]" not in page and "15.0 (n=1); reference" in page


def test_footprint_and_crop_window_by_hand():
    box = np.array([20.0, 40.0, 70.0, 60.0])  # x 20-70, y 40-60 on a stride-16 level of 8 x 8 cells
    rows, cols = footprint(box, 16, (8, 8))
    # centres at 8, 24, 40, 56, ...: x in [20, 70] -> 24, 40, 56 (cols 1-3); y in [40, 60] -> 40, 56 (rows 2-3)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (2, 4, 1, 4)
    rows, cols = crop_window(box, 16, (8, 8), pad=2)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (0, 6, 0, 7)  # cells 2-3 / 1-4, 2 more, clipped


def test_pick_objects_one_per_level_by_assigned_labels_then_by_size():
    boxes = np.array([[0, 0, 16, 16], [64, 64, 128, 128], [0, 64, 40, 100]], dtype=float)  # small, large, mid
    fine, mid, coarse = np.zeros((8, 8)), np.zeros((4, 4)), np.zeros((2, 2))
    fine[0, 0] = 1.0        # the small object's certain anchor on the finest shown level
    coarse[1, 1] = 0.6      # the large object's on the coarsest
    picked = pick_objects(boxes, [fine, mid, coarse], [16, 32, 64])
    assert picked == [(0, 0), (2, 1), (1, 2)]  # the middle level has no label: the mid-sized object
    fine[4:8, 4:8] = 0.6    # the large object's labels on the finest level too: still the small one there
    assert pick_objects(boxes, [fine, mid, coarse], [16, 32, 64])[0] == (0, 0)
    fine[0, 0] = 0.0        # the small object gets no label on the finest level: the assigned object instead
    assert pick_objects(boxes, [fine, mid, coarse], [16, 32, 64])[0] == (1, 0)
    assert pick_objects(boxes[:1], [fine, mid, coarse], [16, 32, 64]) == [(0, 0), (0, 1), (0, 2)]  # reused


def test_figure6_draws_the_image_boxes_and_crops(repo_root, tmp_path):
    plan = plan_at(repo_root, "ci")
    image = tmp_path / "data" / "val.png"
    image.parent.mkdir()
    Image.fromarray(np.full((64, 64, 3), (20, 40, 230), np.uint8)).save(image)  # shown at 2x: 128 px
    folder = write_evidence(tmp_path, "ci", "o2f_r50_1x", 0, []).parent / "score_maps"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for epoch, temperature in ((1, 0.6), (2, 0.2)):
        maps = {f"{kind}_{level}": rng.random((128 // s, 128 // s)).astype(np.float32)
                for level, s in enumerate((8, 16, 32, 64)) for kind in ("score", "label")}
        np.savez(folder / f"epoch_{epoch}.npz", temperature=temperature, img_path=np.array("data/val.png"),
                 scale_factor=np.array([2.0, 2.0]), strides=np.array([8, 16, 32, 64]),
                 gt_bboxes=np.array([[10, 10, 30, 30], [40, 40, 100, 110]], np.float32), **maps)
    png, pdf = score_map_figure(plan, Results(plan, root=tmp_path), "figure6", tmp_path / "figure6")
    assert pdf.stat().st_size > 0
    pixels = np.asarray(Image.open(png).convert("RGB")).reshape(-1, 3).astype(int)
    blue = ((abs(pixels - (20, 40, 230)).sum(axis=1)) < 30).sum()
    assert blue > 20_000  # the input image is drawn, large (a 128 px image at 130 dpi, scaled up)


@pytest.mark.parametrize("table", ["table5", "table6", "table7", "table8", "table9"])
def test_reference_rows_are_the_nms_baselines(repo_root, table):
    spec = yaml.safe_load((repo_root / "configs/tables.yaml").read_text())["tables"][table]
    row, _ = plan_at(repo_root, "demo").references[table]
    assert spec["rows"][row]["name"] == ("CondInst" if table == "table9" else "FCOS")
    assert spec["rows"][row]["nms"] is True


def test_titles_at_demo_scale_name_what_ran_then_the_papers_table(repo_root):
    plan = plan_at(repo_root, "demo")
    trees = "ResNet-18 (32 base channels, from scratch) on aerial tree crowns (deepforest), 256-px crops, 384-px test"
    assert report_title(plan, "table5") == (
        f"Table 5 at demo scale, ours: {trees} images. The paper's table (its values beside ours): Comparisons with "
        "end-to-end dense detectors on COCO val (ResNet-50).")
    crowns = "on aerial tree crowns (deepforest), 256-px crops, 384-px test images."
    assert report_title(plan, "table6").startswith(  # the scale's stand-ins for ResNet-101 and Swin-T
        f"Table 6 at demo scale, ours: ResNet-34 (32 base channels, from scratch) {crowns}")
    assert report_title(plan, "table7").startswith(
        f"Table 7 at demo scale, ours: Swin (32-dim embedding, depths 2-2-2-2, from scratch) {crowns}")
    assert ("ours: ResNet-18 (32 base channels, from scratch) on aerial tree crowns (deepforest) in CrowdHuman's odgt "
            "layout, 256-px crops, 384-px test images.") in report_title(plan, "table8")
    assert "ours: ResNet-18 (32 base channels, from scratch) on synthetic shapes, 128-px images." \
        in report_title(plan, "table9")
    assert report_title(plan, "figure5").startswith(f"Figure 5 at demo scale, ours: {trees} images. The paper's figure")
    assert report_title(plan_at(repo_root, "ci"), "headline").startswith(
        "The headline of Table 5 (the default target) at ci scale, ours: ResNet-18 (16 base channels, from scratch) "
        "on synthetic shapes, 128-px images.")
    full = plan_at(repo_root, "full")
    assert report_title(full, "table5") == full.tables["table5"]["title"]


def test_the_label_follows_the_config():
    assert backbone_description({"type": "ChannelsLastResNet", "depth": 50}) == "ResNet-50"
    assert backbone_description({"_delete_": True, "type": "ResNet", "depth": 18, "base_channels": 32,
                                 "init_cfg": None}) == "ResNet-18 (32 base channels, from scratch)"
    crop = {"train_pipeline": [{"type": "RandomResize", "scale": (512, 512)},
                               {"type": "RandomCrop", "crop_size": (320, 256)}],
            "test_pipeline": [{"type": "Resize", "scale": (512, 512)}]}
    assert image_description(crop) == "320x256-px crops, 512-px test images"
    assert image_description({"train_pipeline": [{"type": "Resize", "scale": 96}],
                              "test_pipeline": [{"type": "Resize", "scale": (96, 96)}]}) == "96-px images"
    assert dataset_description("data/demo_trees_odgt") == "aerial tree crowns (deepforest) in CrowdHuman's odgt layout"
    assert dataset_description("/mnt/my_data/") == "the data at /mnt/my_data"
