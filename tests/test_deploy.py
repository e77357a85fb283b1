"""A trained detector outside the training loop: the fixed-shape post-processing against mmdet's,
the ONNX graphs (no NMS node for one-to-few, ONNX NMS for FCOS) in ONNX Runtime, and ``o2f detect``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

pytest.importorskip("mmcv.ops")
pytest.importorskip("onnxruntime")
# One xdist worker for the module: its tests share one trained checkpoint.
pytestmark = pytest.mark.xdist_group("deploy")

from mmdet.structures import DetDataSample  # noqa: E402

from o2f.deploy.checkpoint import load_detector  # noqa: E402
from o2f.deploy.end_to_end import EndToEndDetector  # noqa: E402
from o2f.deploy.export import export_onnx, graph_op_types  # noqa: E402
from o2f.deploy.nms_op import nms_keep_mask  # noqa: E402
from o2f.deploy.onnx_runtime import Detections, OnnxDetector  # noqa: E402
from o2f.deploy.parity import compare, match  # noqa: E402
from o2f.pipeline.cli import main  # noqa: E402
from o2f.pipeline.config import load_config  # noqa: E402

O2F = "configs/o2f/o2f_r50_fpn_1x_coco.py"
POTO = "configs/poto/poto_r50_fpn_1x_coco.py"
POTO_3DMF = "configs/poto/poto-3dmf_r50_fpn_1x_coco.py"
FCOS = "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"


@pytest.fixture(scope="module")
def trained_o2f(repo_root, synthetic_root, tmp_path_factory):
    """A one-to-few checkpoint trained 2 epochs at ci scale, and the folder it was trained in."""
    from o2f.pipeline.train import build_runner

    folder = tmp_path_factory.mktemp("o2f_ci")
    (folder / "data").mkdir()
    os.symlink(synthetic_root, folder / "data" / "synthetic_shapes")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        build_runner(load_config(repo_root / O2F, "ci"), folder / "work", resume=False).train()
    return folder / "work" / "epoch_2.pth", folder


def random_detector(repo_root, config: str, score_thr: float) -> EndToEndDetector:
    torch.manual_seed(0)
    cfg = load_config(repo_root / config, "ci", {"model.test_cfg.score_thr": score_thr})
    return EndToEndDetector(load_detector(cfg, None)[0]).eval()


def test_nms_keep_mask_by_hand():
    boxes = torch.tensor([[[0, 0, 10, 10], [1, 1, 11, 11], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]]],
                         dtype=torch.float32)
    scores = torch.full((1, 2, 5), -1.0)
    scores[0, 0, 0], scores[0, 0, 1], scores[0, 1, 2], scores[0, 0, 3] = 0.9, 0.8, 0.7, 0.6
    # box 1 overlaps box 0 with IoU 81/119 = 0.68 > 0.6 in the same class: suppressed; box 2 is the same
    # box in the other class: kept; box 4 has no score (-1): never a candidate
    keep = nms_keep_mask(boxes, scores, 0.6, 100)
    assert keep[0, 0].tolist() == [True, False, False, True, False]
    assert keep[0, 1].tolist() == [False, False, True, False, False]
    capped = nms_keep_mask(boxes, scores, 0.6, 1)  # one per class: the best
    assert capped[0, 0].tolist() == [True, False, False, False, False]
    assert capped[0, 1].tolist() == [False, False, True, False, False]


@pytest.mark.slow
@pytest.mark.parametrize("config", [O2F, POTO_3DMF, FCOS])
def test_fixed_shape_post_processing_equals_mmdet_predict(repo_root, config):
    """Random weights, every candidate above a 0 threshold: up to 100 detections chosen among hundreds
    (with NMS for FCOS), the image 100 px tall inside a 128 px input so clipping counts."""
    model = random_detector(repo_root, config, 0.0)
    images = torch.randint(0, 256, (1, 3, 128, 128)).float()
    with torch.no_grad():
        boxes, scores, labels = model(images, torch.tensor([[100.0, 128.0]]))
        sample = DetDataSample(metainfo=dict(img_shape=(100, 128), ori_shape=(100, 128), scale_factor=(1.0, 1.0),
                                             pad_shape=(128, 128), batch_input_shape=(128, 128)))
        normalised = (images.flip(1) - model.mean) / model.std
        expected = model.detector.predict(normalised, [sample], rescale=False)[0].pred_instances
    valid = labels[0] >= 0
    assert len(expected) == int(valid.sum()) >= 50  # zero-size boxes of the random weights drop out
    assert float(boxes[0, :, 3].max()) <= 100.0
    box_diffs, score_diffs, unmatched = match(
        Detections(expected.bboxes.numpy(), expected.scores.numpy(), expected.labels.numpy()),
        Detections(boxes[0][valid].numpy(), scores[0][valid].numpy(), labels[0][valid].numpy()))
    assert unmatched == 0 and max(box_diffs) < 1e-4 and max(score_diffs) < 1e-5
    assert torch.all(scores[0, :-1] >= scores[0, 1:])  # best first


@pytest.mark.slow
def test_padding_rows_marked(repo_root):
    model = random_detector(repo_root, O2F, 0.99)  # nothing scores 0.99 with random weights
    with torch.no_grad():
        boxes, scores, labels = model(torch.zeros(1, 3, 128, 128), torch.tensor([[128.0, 128.0]]))
    assert boxes.shape == (1, 100, 4) and scores.shape == labels.shape == (1, 100)
    assert labels.eq(-1).all() and scores.eq(0).all() and boxes.eq(0).all()


@pytest.mark.slow
def test_one_to_few_onnx_has_no_nms_and_matches_pytorch(repo_root, trained_o2f, capsys):
    checkpoint, folder = trained_o2f
    onnx_path = folder / "o2f.onnx"
    # two ci epochs leave scores near mmdet's 0.05 threshold; 0.01 keeps detections to compare, whatever the seed
    low_threshold = {"model.test_cfg.score_thr": 0.01}
    assert main(["export", str(repo_root / O2F), str(checkpoint), "--scale", "ci", "--out", str(onnx_path),
                 "--overrides", json.dumps(low_threshold)]) == 0
    ops = graph_op_types(onnx_path)
    assert "NonMaxSuppression" not in ops and "TopK" in ops and "Conv" in ops
    meta = OnnxDetector(onnx_path).meta
    assert meta["input_hw"] == [128, 128] and meta["classes"] == ["rectangle", "ellipse"] and meta["nms"] == "none"

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # where the ci data are: the config reads them, and their classes
        cfg = load_config(repo_root / O2F, "ci", low_threshold)
        detector, _ = load_detector(cfg, checkpoint, O2F)
        result = compare(cfg, detector, onnx_path)
    assert result["images"] == 8 and result["pytorch_boxes"] > 0
    assert result["unmatched"] == 0 and result["onnx_boxes"] == result["pytorch_boxes"]
    assert result["max_box_diff"] <= 1e-3
    assert abs(result["pytorch_ap"] - result["onnx_ap"]) <= 0.1


@pytest.mark.slow
def test_fcos_onnx_uses_onnx_nms_with_a_dynamic_batch(repo_root, tmp_path, in_tmp_with_data):  # 2 classes
    onnx_path = tmp_path / "fcos.onnx"
    torch.manual_seed(0)
    export_onnx(load_config(repo_root / FCOS, "ci", {"model.test_cfg.score_thr": 0.0}), None, onnx_path,
                dynamic_batch=True)
    assert "NonMaxSuppression" in graph_op_types(onnx_path)
    eager = random_detector(repo_root, FCOS, 0.0)  # the same seed: the same random weights
    images = torch.randint(0, 256, (2, 3, 128, 128)).float()
    image_hw = torch.tensor([[128.0, 128.0], [90.0, 128.0]])
    with torch.no_grad():
        expected = eager(images, image_hw)
    onnx = OnnxDetector(onnx_path)
    got = onnx.run(images.numpy(), image_hw.numpy())
    assert got[0].shape == (2, 100, 4)
    assert np.abs(got[0] - expected[0].numpy()).max() < 1e-3
    assert np.abs(got[1] - expected[1].numpy()).max() < 1e-5
    assert (got[2] == expected[2].numpy()).all() and (got[2] >= 0).all()
    alone = onnx.run(images[1:].numpy(), image_hw[1:].numpy())  # batch 1 through the same graph
    assert np.abs(alone[0][0] - got[0][1]).max() < 1e-3 and (alone[2][0] == got[2][1]).all()


@pytest.mark.slow
def test_detect_draws_and_writes_coco_results_and_reports_bad_images(repo_root, trained_o2f, capsys, tmp_path,
                                                                    monkeypatch):
    checkpoint, folder = trained_o2f
    monkeypatch.chdir(folder)  # where the config's data/synthetic_shapes/annotations/val.json is
    images = folder / "data" / "synthetic_shapes" / "images"
    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    out = tmp_path / "out"
    code = main(["detect", str(repo_root / O2F), str(checkpoint), str(images / "val_0001.png"),
                 str(tmp_path / "missing.jpg"), str(broken), str(images / "val_0002.png"),
                 "--out", str(out), "--score-thr", "0.01",  # the scale: the checkpoint's (ci)
                 "--overrides", json.dumps({"model.test_cfg.score_thr": 0.01})])  # two ci epochs: low scores
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    errors = [line for line in err if line.startswith("o2f: error: ")]
    assert len(errors) == 1
    assert "missing.jpg (does not exist)" in errors[0] and "broken.png (not a readable image)" in errors[0]
    assert "the other 2 written" in errors[0]
    assert sorted(p.name for p in (out / "vis").iterdir()) == ["val_0001.png", "val_0002.png"]
    results = json.loads((out / "results.json").read_text())
    assert results and {r["file_name"] for r in results} <= {"val_0001.png", "val_0002.png"}
    # ids from the config's annotation file: val_0001.png is image 1, categories 1 and 2
    assert all(r["image_id"] == int(r["file_name"][4:8]) for r in results)
    assert all(r["category_id"] in (1, 2) and r["score"] >= 0.01 and min(r["bbox"][2:]) >= 0 for r in results)


@pytest.mark.slow
def test_detect_refuses_a_checkpoint_of_another_config(repo_root, trained_o2f, capsys, tmp_path):
    checkpoint, folder = trained_o2f
    image = folder / "data" / "synthetic_shapes" / "images" / "val_0001.png"
    out = tmp_path / "out"
    code = main(["detect", str(repo_root / POTO), str(checkpoint), str(image), "--scale", "ci", "--out", str(out)])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("o2f: error: ")]
    assert code == 2 and len(err) == 1
    # plain POTO has no objectness branch (as in DeFCN), so one-to-few's first extra key is named
    assert "'bbox_head.conv_objectness.weight' in the checkpoint is not in the model" in err[0]
    assert not out.exists()


@pytest.mark.slow
def test_a_scale_other_than_the_checkpoints_stops_in_one_line(repo_root, trained_o2f, capsys, tmp_path):
    checkpoint, _ = trained_o2f
    code = main(["export", str(repo_root / O2F), str(checkpoint), "--scale", "demo", "--out", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == (f"o2f: error: {checkpoint} was trained at scale 'ci', not 'demo'; leave --scale out "
                                 "or give the scale it was trained at")
    assert not (tmp_path / "m.onnx").exists()


def test_missing_checkpoint_is_one_line(repo_root, capsys, tmp_path):
    code = main(["export", str(repo_root / O2F), str(tmp_path / "nope.pth"), "--scale", "ci",
                 "--out", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"o2f: error: checkpoint {tmp_path / 'nope.pth'} does not exist"
