"""Table 5's speed cells: forward, NMS and FPS from one measurement, with and without NMS."""

from __future__ import annotations

import pytest

pytest.importorskip("mmcv.ops")

from o2f.pipeline.speed import measure  # noqa: E402
from o2f.speed_cells import table_value  # noqa: E402

FCOS = "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"


def test_table_values_from_one_measurement():
    speed = {"forward": 27.7, "select": 0.3, "nms": 0.7}
    assert table_value(speed, "forward", True) == 27.7
    assert table_value(speed, "nms", True) == 0.7 and table_value(speed, "nms", False) == 0.0
    assert table_value(speed, "fps", True) == pytest.approx(1000 / 28.7)   # the paper's 35.2 FPS row
    assert table_value(speed, "fps", False) == pytest.approx(1000 / 28.0)  # NMS-free: no NMS time


@pytest.mark.slow
def test_measure_times_a_model_at_ci_scale(repo_root, in_tmp_with_data):
    speed = measure(str(repo_root / FCOS), "ci", "cpu", images=3, warmup=1)
    assert speed.keys() == {"forward", "select", "nms", "per_image"}
    assert speed["forward"] > 0 and speed["nms"] >= 0 and speed["select"] >= 0
    # each timed image's parts (a speed claim resamples them); the medians are theirs
    assert {k: len(v) for k, v in speed["per_image"].items()} == {"forward": 3, "post": 3, "nms": 3}
    assert speed["forward"] == sorted(speed["per_image"]["forward"])[1]


@pytest.mark.slow
def test_speed_times_on_the_threads_it_is_given(repo_root, in_tmp_with_data):
    """Snakemake hands a speed job all the cores (it runs alone) and their count in MKL_NUM_THREADS, which torch
    follows: ``--threads`` keeps the timing on a training's thread count, and the label says so."""
    import json

    import torch

    from o2f.pipeline.cli import main

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        out = in_tmp_with_data / "speed.json"
        assert main(["speed", str(repo_root / FCOS), "--scale", "ci", "--out", str(out), "--images", "2",
                     "--threads", "1"]) in (0, None)
        assert json.loads(out.read_text())["device"].endswith(", 1 threads")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
