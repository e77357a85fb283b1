"""A run of the main job against its committed evidence: identical on the kind it came from, a finding
where it differs there, and its difference against the committed seeds' spread on another kind."""

from __future__ import annotations

import json
import subprocess

from dag import write_evidence

from o2f.reporting import reproduction as R

AMX, AVX2 = "Xeon, AMX-BF16; bf16", "EPYC, no bf16 instructions; fp32"


def run(ap: float, kind: str = AMX) -> dict:
    return {"kind": kind, "epochs": [{"epoch": 12, "coco/nms_bbox_mAP": ap / 100, "coco/nonms_bbox_mAP": ap / 200}]}


def test_each_outcome_by_hand():
    assert R.compare(run(16.0), None, [])[0] == R.NEW
    assert R.compare(run(16.0), run(16.0), [])[0] == R.IDENTICAL
    outcome, note = R.compare(run(16.1), run(16.0), [])
    assert outcome == R.DIFFERS and "coco/nms_bbox_mAP 16.10 against 16.00" in note
    outcome, note = R.compare(run(15.0, AVX2), run(16.0), [run(16.0), run(17.0), run(18.0)])
    assert outcome == R.OTHER_KIND and f"{AVX2} here, {AMX} committed" in note
    assert "coco/nms_bbox_mAP 15.00 against 16.00" in note and "coco/nms_bbox_mAP 1.00" in note  # std of 16, 17, 18


def test_a_trained_run_is_read_from_its_work_dir_and_set_against_the_committed_evidence(tmp_path):
    """The committed evidence comes from git; the run from its work dir's final metrics (never the evidence
    file itself, which would compare the committed run with itself)."""
    path = write_evidence(tmp_path, "demo", "o2f_r50_1x", 0, run(16.0)["epochs"])
    write_evidence(tmp_path, "demo", "o2f_r50_1x", 1, run(17.0)["epochs"])
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "e"]
    for command in (["init", "-q"], ["add", "evidence"], commit):
        subprocess.run(["git", "-C", str(tmp_path), *command], check=True)
    folder = str(path.parents[2].relative_to(tmp_path))  # evidence/demo/o2f_r50_1x
    assert R.committed_names(tmp_path, f"{folder}/{path.parents[1].name}") == ["seed0", "seed1"]

    def trained(ap: float, device: str, precision: str) -> str:
        metrics = tmp_path / "work_dirs/demo/o2f_r50_1x/seed0/final_metrics.json"
        metrics.parent.mkdir(parents=True, exist_ok=True)
        metrics.write_text(json.dumps({"epochs": run(ap)["epochs"], "device": device, "precision": precision}))
        return str(metrics.relative_to(tmp_path))

    same_kind = ("CPU (Test CPU, AMX-BF16, 2 cores)", "bf16")
    (found,) = R.reproductions(tmp_path, [("o2f_r50_1x", 0, trained(16.0, *same_kind), folder)])
    assert found.outcome == R.IDENTICAL
    (found,) = R.reproductions(tmp_path, [("o2f_r50_1x", 0, trained(16.5, *same_kind), folder)])
    assert found.outcome == R.DIFFERS and "16.50 against 16.00" in found.note
    # another kind, with none of its own committed: against the committed kind's run and seeds
    (found,) = R.reproductions(tmp_path, [("o2f_r50_1x", 0, trained(15.0, "CPU (EPYC, no bf16 instructions, 2 cores)",
                                                                       "fp32"), folder)])
    assert found.outcome == R.OTHER_KIND and "15.00 against 16.00" in found.note and "(n = 2)" in found.note
    assert f"{AVX2} here" in found.note
