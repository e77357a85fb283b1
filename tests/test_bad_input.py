"""Bad input ends in one line naming the problem, a non-zero exit, and nothing deleted."""

from __future__ import annotations

from o2f.pipeline.cli import main

FCOS = "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"
CROWDHUMAN = "configs/crowdhuman/o2f_r50_fpn_50e_crowdhuman.py"


def run_cli(capsys, *args) -> tuple[int, str]:
    code = main(list(args))
    err = capsys.readouterr().err.strip()
    return code, err


def assert_one_line(err: str, *fragments: str) -> None:
    assert len(err.splitlines()) == 1, err
    assert err.startswith("o2f: error: ")
    for fragment in fragments:
        assert fragment in err


def test_unknown_scale(capsys, repo_root, tmp_path):
    code, err = run_cli(capsys, "train", str(repo_root / FCOS), "--scale", "huge", "--work-dir", str(tmp_path))
    assert code == 2
    assert_one_line(err, "unknown scale 'huge'", "ci, demo, full")


def test_unknown_config_key(capsys, repo_root, tmp_path):
    code, err = run_cli(capsys, "train", str(repo_root / FCOS), "--scale", "ci", "--work-dir", str(tmp_path),
                        "--cfg-options", "model.bbox_head.num_clases=3")
    assert code == 2
    assert_one_line(err, "unknown config key 'model.bbox_head.num_clases'")


def test_missing_dataset(capsys, repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(capsys, "train", str(repo_root / FCOS), "--scale", "demo", "--work-dir", "work")
    assert code == 2
    assert_one_line(err, "data/demo_trees", "does not exist", "o2f prepare-data")


def test_malformed_annotation_json_keeps_existing_checkpoints(capsys, repo_root, in_tmp_with_data):
    data = in_tmp_with_data / "data"
    (data / "synthetic_shapes").unlink()
    (data / "synthetic_shapes" / "annotations").mkdir(parents=True)
    (data / "synthetic_shapes" / "annotations" / "train.json").write_text('{"images": [')
    (data / "synthetic_shapes" / "annotations" / "val.json").write_text("{}")
    work = in_tmp_with_data / "work"
    work.mkdir()
    (work / "epoch_1.pth").write_bytes(b"trained")
    code, err = run_cli(capsys, "train", str(repo_root / FCOS), "--scale", "ci", "--work-dir", str(work))
    assert code == 2
    assert_one_line(err, "malformed annotation json", "train.json")
    assert (work / "epoch_1.pth").read_bytes() == b"trained"


def test_missing_crowdhuman_says_what_to_download(capsys, repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run_cli(capsys, "train", str(repo_root / CROWDHUMAN), "--scale", "full", "--work-dir", "work")
    assert code == 2
    assert_one_line(err, "data/crowdhuman", "does not exist", "download CrowdHuman", "annotation_train.odgt")


def test_malformed_odgt_names_file_and_line(capsys, repo_root, in_tmp_with_data):
    odgt = in_tmp_with_data / "data" / "synthetic_shapes_odgt"
    odgt.unlink()
    odgt.mkdir()
    (odgt / "annotation_train.odgt").write_text('{"ID": "a", "gtboxes": []}\n{"ID": "b", "gtbo\n')
    (odgt / "annotation_val.odgt").write_text('{"ID": "a", "gtboxes": []}\n')
    code, err = run_cli(capsys, "train", str(repo_root / CROWDHUMAN), "--scale", "ci", "--work-dir", "work")
    assert code == 2
    assert_one_line(err, "malformed odgt line 2", "annotation_train.odgt")


def test_missing_config_file(capsys, tmp_path):
    code, err = run_cli(capsys, "train", str(tmp_path / "nope.py"), "--work-dir", str(tmp_path))
    assert code == 2
    assert_one_line(err, "nope.py does not exist")


def test_overrides_that_are_not_a_json_object(capsys, repo_root, tmp_path):
    for overrides, expected in (('{"model.bbox_head.num_classes": 3', "--overrides is not JSON"),
                                ('["model.bbox_head.num_classes", 3]', "--overrides expects a JSON object")):
        code, err = run_cli(capsys, "train", str(repo_root / FCOS), "--scale", "ci", "--work-dir", str(tmp_path),
                            "--overrides", overrides)
        assert code == 2
        assert_one_line(err, expected)
