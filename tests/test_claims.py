"""Claims: loading from tables.yaml (bad names stop at load), comparisons, intervals and verdicts on
fixture metrics against hand-computed values, and the claims report."""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from dag import job_counts, settings, snakemake, write_evidence
from scipy import stats

from o2f.errors import O2FError
from o2f.pipeline.expression import Expression
from o2f.pipeline.plan import Plan
from o2f.reporting import claims as C
from o2f.reporting import statistics as S
from o2f.reporting.results import Results

T_975_2 = 4.302652729749462  # Student t, 97.5 % quantile, 2 degrees of freedom (tables: 4.303)
SPEC = yaml.safe_load((Path(__file__).resolve().parent.parent / "configs/tables.yaml").read_text())


def plan_for(repo_root, spec=None, **changes) -> Plan:
    return Plan(copy.deepcopy(spec or SPEC), settings(repo_root, **changes), root=repo_root)


def write_run(work: Path, experiment: str, seed: int, epochs: list[dict], scale: str = "demo", **fields) -> Path:
    """A finished run's evidence: per-epoch metrics (fractions, as the evaluator logs them)."""
    return write_evidence(work, scale, experiment, seed, [{"epoch": i + 1, **e} for i, e in enumerate(epochs)],
                          **fields)


def ap(nonms: float, nms: float | None = None) -> dict:
    values = {"coco/nonms_bbox_mAP": nonms / 100}
    if nms is not None:
        values["coco/nms_bbox_mAP"] = nms / 100
    return values


# AP without NMS (and FCOS's with NMS) per seed 0, 1, 2, chosen so each claim's per-seed comparison is a
# round number: POTO - FCOS = 1, 2, 3; POTO+3DMF - POTO = -2.0, -2.2, -2.4; Ours - Aux(ATSS) = 2.0, 2.2, 2.4.
TABLE5 = {
    "fcos_r50_1x": [ap(9.0, 18.0), ap(9.0, 20.0), ap(9.0, 20.0)],
    "poto_r50_1x": [ap(10.0), ap(11.0), ap(12.0)],
    "poto-3dmf_r50_1x": [ap(8.0), ap(8.8), ap(9.6)],
    "poto-3dmf-aux-atss_r50_1x": [ap(13.0), ap(13.0), ap(13.0)],
    "o2f_r50_1x": [ap(15.0), ap(15.2), ap(15.4)],
}  # o2f_r50_1x_1conv (claim 7) never ran


@pytest.fixture()
def demo_runs(repo_root, tmp_path) -> tuple[Plan, Results]:
    plan = plan_for(repo_root, seeds=[0, 1, 2], tables=["table5", "figure5", "figure6"])
    for experiment, seeds in TABLE5.items():
        for seed, final in enumerate(seeds):
            write_run(tmp_path, experiment, seed, [final])
    return plan, Results(plan, root=tmp_path)


def outcomes_by_id(plan, results):
    return {o.claim.id: o for o in C.evaluate_claims(plan, results)}


def test_each_verdict_and_its_interval_by_hand(demo_runs):
    found = outcomes_by_id(*demo_runs)
    half = T_975_2 * 0.2 / math.sqrt(3)  # differences 2.0, 2.2, 2.4: mean 2.2, sd 0.2

    holds = found["5"]  # Ours-3convs - POTO+3DMF+Aux (ATSS) > 0
    assert holds.verdict == C.HOLDS and holds.n == 3
    assert holds.method == "seed-only t over seeds 0, 1, 2 (no resampled evidence)"
    assert holds.mean == pytest.approx(2.2) and (holds.low, holds.high) == pytest.approx((2.2 - half, 2.2 + half))
    assert (holds.low, holds.high) == pytest.approx((1.7032, 2.6968), abs=1e-4)

    contradicted = found["3"]  # POTO+3DMF - POTO > 0, but -2.0, -2.2, -2.4
    assert contradicted.verdict == C.CONTRADICTED
    assert (contradicted.low, contradicted.high) == pytest.approx((-2.2 - half, -2.2 + half))

    unresolved = found["2"]  # POTO - FCOS: 1, 2, 3 -> mean 2, sd 1, [2 -+ 4.3027 / sqrt 3]
    assert unresolved.verdict == C.NOT_RESOLVED
    assert (unresolved.low, unresolved.high) == pytest.approx((-0.4841, 4.4841), abs=1e-4)
    assert unresolved.per_seed == pytest.approx({0: 1.0, 1: 2.0, 2: 3.0})

    ratio = found["1"]  # FCOS without / with NMS: 0.5, 0.45, 0.45 against "< 1", the paper's 0.46 inside
    assert ratio.mean == pytest.approx(0.46667, abs=1e-5)
    assert (ratio.low, ratio.high) == pytest.approx((0.39496, 0.53838), abs=1e-5)
    assert ratio.verdict == C.HOLDS and ratio.magnitude == "inside"
    # the paper's +1.4 of POTO+3DMF+Aux's 37.6, scaled to ours (13.0): 0.48, below our [1.70, 2.70]
    assert holds.paper_effect == pytest.approx(1.4 / 37.6 * 13.0) and holds.magnitude == "below"
    mid = C.relative_reading(None, demo_runs[1], replace(holds, low=0.4, high=1.0))  # scaled: inside, unscaled: above
    assert mid.magnitude == "inside" and S.magnitude_reading(1.4, 0.4, 1.0) == "above"
    plotted = next(row for row in C.plot_rows(list(found.values())) if row["id"] == "5")
    assert plotted["paper"] == pytest.approx(1.4 / 37.6 * 13.0)  # the plot draws the value the size reads

    assert found["7"].verdict == C.NOT_RUN and "o2f_r50_1x_1conv" in found["7"].note  # its run is missing
    assert found["9a"].verdict == C.NOT_RUN and "add: table1" in found["9a"].note  # not in the configured tables


def test_verdict_sides_and_boundaries():
    assert C.verdict(">", 0, 0.1, 2.0) == C.HOLDS
    assert C.verdict(">", 0, 0.0, 2.0) == C.NOT_RESOLVED       # touching the threshold is not "above"
    assert C.verdict(">=", 0, 0.0, 2.0) == C.HOLDS             # but is "at least"
    assert C.verdict("<", 0.5, 0.2, 0.4) == C.HOLDS
    assert C.verdict("<", 0.5, 0.6, 0.7) == C.CONTRADICTED
    assert C.verdict("<", 0.5, 0.4, 0.6) == C.NOT_RESOLVED
    assert C.verdict(">", 0, None, None) == C.NOT_RESOLVED     # one seed: no interval


def test_one_seed_is_not_resolved_and_differing_seeds_use_the_seeds_all_runs_share(repo_root):
    claim = next(c for c in plan_for(repo_root).claims if c.id == "5")  # o2f - poto > 0
    single = C.evaluate(claim, {"o2f": {0: 15.0}, "poto": {0: 13.0}})
    assert single.verdict == C.NOT_RESOLVED and single.n == 1 and single.mean == pytest.approx(2.0)
    assert single.low is None and single.method == "one seed (0): no interval"

    paired = C.evaluate(claim, {"o2f": {0: 15.0, 1: 17.0}, "poto": {0: 10.0, 1: 11.0, 2: 12.0}})
    assert paired.per_seed == {0: 5.0, 1: 6.0} and paired.n == 2
    assert paired.method.endswith("(the seeds all its runs share)")


def test_one_seed_reads_not_resolved_before_and_after_holm(repo_root, tmp_path):
    plan = plan_for(repo_root, seeds=[0], tables=["table5"])
    for experiment, seeds in TABLE5.items():
        write_run(tmp_path, experiment, 0, [seeds[0]])
    found = outcomes_by_id(plan, Results(plan, root=tmp_path))
    assert found["5"].verdict == found["5"].adjusted == C.NOT_RESOLVED and found["5"].p is None
    assert found["9a"].adjusted == C.NOT_RUN


def test_thresholds_are_zero_one_or_a_value_the_paper_prints(repo_root):
    """Claim 6 reads the paper's "better accuracy" as > 0; claim 18 reads "varies little" against the paper's
    own Table 2: the worst K's share of the best K's AP (38.4 / 39.0), its paper value on the threshold."""
    plan = plan_for(repo_root)
    claims = {c.id: c for c in plan.claims}
    assert (claims["6"].side, claims["6"].threshold) == (">", 0.0)
    k = claims["18"]
    assert (k.side, k.threshold, k.paper) == (">=", 0.985, 0.985) and k.paper == pytest.approx(38.4 / 39.0, abs=5e-4)
    flat = {name: {0: 20.0, 1: 20.0} for name in k.cells} | {"k3": {0: 19.8, 1: 19.9}}  # 0.99, 0.995
    assert C.evaluate(k, flat).per_seed == pytest.approx({0: 0.99, 1: 0.995})
    assert C.evaluate(k, flat).verdict == C.NOT_RESOLVED  # two seeds: t(1) = 12.7 widens 0.9925 +- 0.0025
    steep = flat | {"k3": {0: 18.0, 1: 18.2}}  # 0.9, 0.91: below 0.985 on every reading
    assert C.evaluate(k, steep).verdict == C.CONTRADICTED
    for claim in plan.claims:  # a collapse (claims 1, 11, 28) is a loss, its depth read by the size column
        assert claim.threshold in {0.0, 1.0, claim.paper}, claim.id


def test_figure5_claims_read_the_per_epoch_curves(repo_root, tmp_path):
    plan = plan_for(repo_root, seeds=[0, 1])
    # one-to-few's gap (w/ - w/o NMS) per epoch: seed 0: 6, 3, 1; seed 1: 5, 2, 1.5
    o2f = {0: [(10, 4), (14, 11), (16, 15)], 1: [(9, 4), (13, 11), (16, 14.5)]}
    # one-to-one's gap: seed 0: 1, 2, 0.5; seed 1: 1, 1, 1
    o2o = {0: [(8, 7), (10, 8), (12, 11.5)], 1: [(8, 7), (10, 9), (12, 11)]}
    for experiment, runs in (("o2f_r50_1x", o2f), ("poto_r50_1x", o2o)):
        for seed, points in runs.items():
            write_run(tmp_path, experiment, seed, [ap(without, with_) for with_, without in points])
    found = outcomes_by_id(plan, Results(plan, root=tmp_path))
    shrink = found["8a"]  # widest gap - last gap: 6 - 1 = 5, 5 - 1.5 = 3.5
    assert shrink.per_seed == pytest.approx({0: 5.0, 1: 3.5})
    half = 12.706204736 * 0.75  # t(0.975, 1) x sem (sd 1.0607 / sqrt 2)
    assert (shrink.low, shrink.high) == pytest.approx((4.25 - half, 4.25 + half), abs=1e-6)
    assert shrink.verdict == C.NOT_RESOLVED  # two seeds: a wide interval
    small = found["8b"]  # o2f's first gap - o2o's largest gap: 6 - 2 = 4, 5 - 1 = 4
    assert small.per_seed == pytest.approx({0: 4.0, 1: 4.0})
    assert small.verdict == C.HOLDS and (small.low, small.high) == (4.0, 4.0)


def test_missing_runs_read_not_run_and_the_rest_render(demo_runs, tmp_path):
    plan, results = demo_runs
    frame = C.claims_frame(C.evaluate_claims(plan, results), plan.settings["seeds"])
    md, csv = C.write_claims(frame, tmp_path / "reports" / "claims", "demo", plan.settings["seeds"])
    rows = {r["id"]: r for r in frame.to_dict("records")}
    assert rows["5"]["verdict"] == C.HOLDS and rows["5"]["95% interval"] == "[1.70, 2.70]"
    assert rows["5"]["seed 0"] == "2.000" and rows["5"]["seed 2"] == "2.400"  # each seed's value in the CSV
    assert rows["1"]["ours (mean)"] == "0.467" and rows["1"]["paper"] == "0.46"  # ratios: the paper's two decimals
    assert rows["7"]["verdict"] == C.NOT_RUN and rows["7"]["ours (mean)"] == "–" and rows["7"]["size"] == "–"
    assert rows["8a"]["paper"].startswith("– (Figure 5")
    text = md.read_text()
    on_runs = [r for r in rows.values() if not r["timed"] and not r["beyond the paper"]]  # counted apart
    assert f"{sum(r['after Holm'] == C.NOT_RUN for r in on_runs)} not run" in text
    assert "holds" in text and "after Holm's correction" in text
    assert "| 5    |" in text and "claim 7: no finished run of o2f_r50_1x_1conv gives one" in text
    assert "seed 0" in csv.read_text().splitlines()[0] and "seed 0" not in text
    # every claim with a value (none "–"): the Markdown keeps each value's digits as the CSV has them
    ran = frame[frame["ours (mean)"] != "–"]
    md, _ = C.write_claims(ran, tmp_path / "ran" / "claims", "demo", plan.settings["seeds"])
    table = [[c.strip() for c in line.split("|")] for line in md.read_text().splitlines() if line.startswith("|")]
    cells = next(cells for cells in table if cells[1] == "5")
    assert rows["5"]["ours (mean)"] == "2.20" and cells[5] == "2.20"


def test_a_run_whose_box_loss_stays_degenerate_is_flagged_and_left_out(demo_runs, tmp_path):
    """FCOS seed 2 kept its GIoU loss at 1.0 for three epochs: claims reading FCOS drop seed 2, name the
    run and give the verdict with it beside; the rest keep their three seeds."""
    plan, results = demo_runs
    dead = [{"epoch": e, "loss_bbox": 1.0, "loss_cls": 0.5} for e in (1, 2, 3)]
    write_run(tmp_path, "fcos_r50_1x", 2, [ap(9.0, 20.0)], losses=dead, box_loss_weight=1.0)
    assert "loss_bbox stuck at its degenerate value 1 " in results.failed("fcos_r50_1x")[2]
    found = outcomes_by_id(plan, results)
    assert found["2"].n == 2 and found["2"].per_seed == pytest.approx({0: 1.0, 1: 2.0})  # seed 2 left out
    assert found["2"].excluded[0].startswith("fcos_r50_1x seed 2: loss_bbox stuck")
    assert found["2"].all_runs.startswith(C.NOT_RESOLVED)  # with seed 2: 1, 2, 3
    assert found["5"].n == 3 and not found["5"].excluded  # reads no FCOS run
    # claim 6 (o2f without NMS - FCOS with NMS, read as a share of FCOS): the reference is FCOS's kept seeds,
    # 18 and 20, not the failed run's 20 beside them; ours: 15.0 - 18, 15.2 - 20 = -3.9 on average
    six = found["6"]
    assert six.left_out == (2,) and six.paper_effect == pytest.approx(0.4 / 38.6 * 19.0)
    assert six.relative == "ours -20.5 %, paper +1.0 % of fcos"


def test_a_claim_reads_each_seed_from_one_kind_and_names_each_kinds_mean(demo_runs, tmp_path):
    """Claim 2 (POTO - FCOS without NMS: 1, 2, 3 at seeds 0-2 on the test kind). A POTO seed 1 on another kind
    beside the test kind's changes nothing (its FCOS is on the test kind); without the test kind's POTO seed 1
    the claim drops seed 1 rather than pair two kinds; with FCOS seed 1 on the other kind too, seed 1 comes
    back from that kind, and the note names each kind's mean."""
    plan, results = demo_runs
    other = "Other CPU, AVX2; fp32"
    beside = write_run(tmp_path, "poto_r50_1x", 1, [ap(14.0)], kind=other)
    found = outcomes_by_id(plan, Results(plan, root=tmp_path))["2"]
    assert found.per_seed == pytest.approx({0: 1.0, 1: 2.0, 2: 3.0}) and "per kind" not in found.note
    assert Results(plan, root=tmp_path).seed_values("poto_r50_1x", "bbox_mAP", False)[1] == pytest.approx(11.0)
    (beside.parents[1].parent / "test-cpu-amx-bf16_bf16" / "seed1" / "run.json").unlink()
    found = outcomes_by_id(plan, Results(plan, root=tmp_path))["2"]
    assert found.per_seed == pytest.approx({0: 1.0, 2: 3.0}) and found.kinds == ("Test CPU, AMX-BF16; bf16",)
    fcos_beside = write_run(tmp_path, "fcos_r50_1x", 1, [ap(9.5, 20.0)], kind=other)
    found = outcomes_by_id(plan, Results(plan, root=tmp_path))["2"]
    assert found.per_seed == pytest.approx({0: 1.0, 1: 4.5, 2: 3.0}) and len(found.kinds) == 2
    assert f"per kind: {other}: 4.5 (seeds 1); Test CPU, AMX-BF16; bf16: 2.0 (seeds 0, 2)" in found.note
    fcos_beside.unlink()  # POTO only on the other kind, at seed 1; FCOS only on the test kind
    for seed in (0, 2):
        (beside.parents[1].parent / "test-cpu-amx-bf16_bf16" / f"seed{seed}" / "run.json").unlink()
    found = outcomes_by_id(plan, Results(plan, root=tmp_path))["2"]
    assert found.verdict == C.NOT_RUN and found.note.startswith("its runs share no seed on one kind")


def test_the_bootstrap_pairs_both_sides_on_the_same_test_images(repo_root, tmp_path):
    """Each run's AP on the bootstrap's image multisets comes from its evidence. POTO is FCOS + 1 + s/10 on
    every multiset r at seed s: the images move both alike, so the paired interval is the seeds' alone,
    however much the images move each run (a bootstrap resampling each side's images apart would be wide)."""
    import gzip
    import json

    plan = plan_for(repo_root, seeds=[0, 1, 2], tables=["table5"])
    n_images, replicates = 5, 200
    noise = np.random.default_rng(3).normal(0, 0.05, replicates)  # the images' effect, shared by both runs
    for seed in (0, 1, 2):
        for experiment, shift in (("fcos_r50_1x", 0.0), ("poto_r50_1x", 0.01 + seed / 1000)):
            values = (0.1 + shift + noise).round(7).tolist()
            folder = write_run(tmp_path, experiment, seed, [ap(100 * (0.1 + shift), 20.0)],
                               bootstrap={"n_images": n_images, "n_resamples": replicates, "rng_seed": 0}).parent
            with gzip.open(folder / "resampled.json.gz", "wt") as handle:
                json.dump({"epoch_1": {"coco/nonms_bbox_mAP": values}}, handle)
    outcome = outcomes_by_id(plan, Results(plan, root=tmp_path))["2"]  # POTO - FCOS without NMS
    assert outcome.method == "bootstrap over seeds 0, 1, 2 and 5 test images, enveloped by the seed-only t"
    assert outcome.per_seed == pytest.approx({0: 1.0, 1: 1.1, 2: 1.2})
    assert 1.0 - 1e-9 <= outcome.boot_low < outcome.boot_high <= 1.2 + 1e-9  # the seeds' spread only
    # the verdict reads the envelope: here the seed t interval (1.1 +- 4.30 x 0.1 / sqrt 3) holds it
    assert (outcome.low, outcome.high) == pytest.approx((outcome.seed_low, outcome.seed_high))
    assert outcome.low == pytest.approx(1.1 - 4.302652729749462 * 0.1 / math.sqrt(3))
    assert outcome.image_var < 0.05 * 0.1 ** 2  # the images move both sides alike: Monte Carlo error only
    t_p = 2 * stats.t.sf(1.1 / (0.1 / math.sqrt(3)), 2)  # 0.0027, below the bootstrap's 2 / 201
    assert outcome.verdict == C.HOLDS and outcome.p == pytest.approx(max(2 / (replicates + 1), t_p))


def score_maps(level0: list[float], level1: float, boxes: list[list[float]]) -> dict:
    """Maps of strides 8 (4 x 4) and 16 (2 x 2): ``level0`` the scores of the four stride-8 anchors whose
    centres (4 or 12, 4 or 12) lie in [0, 16]^2, ``level1`` that of the stride-16 anchor centred at (8, 8)."""
    score_0, score_1 = np.zeros((4, 4), np.float32), np.zeros((2, 2), np.float32)
    score_0[:2, :2] = np.reshape(level0, (2, 2))
    score_1[0, 0] = level1
    return {"strides": np.array([8, 16]), "score_0": score_0, "score_1": score_1,
            "gt_bboxes": np.array(boxes, np.float32), "temperature": np.array(0.6)}


def test_figure6_count_of_anchors_near_an_objects_peak_by_hand():
    from o2f.reporting.score_maps import dense_anchors, mean_over

    # box [0, 16]^2 holds 4 + 1 anchor centres; peak 0.8, half 0.4: 0.8, 0.5 and 0.4 (stride 16) count, 0.39 and
    # 0.1 do not. The box [17, 19]^2 holds no centre (they sit at 4, 12, 20, 28 and 8, 24): no count.
    counts = dense_anchors(score_maps([0.8, 0.5, 0.39, 0.1], 0.4, [[0, 0, 16, 16], [17, 17, 19, 19]]))
    np.testing.assert_array_equal(counts, [3.0, np.nan])
    assert mean_over(counts) == 3.0 and mean_over(np.array([2.0, 4.0]), np.array([1, 1, 0])) == pytest.approx(10 / 3)


def test_figure6_claim_compares_the_last_maps_with_the_first_over_seeds_and_objects(repo_root, tmp_path):
    """Claim 30 reads one-to-few's maps: per seed, the mean count over objects after the last epoch over
    the first. Seed 0: objects count (4, 2) then (1, 1): 1 / 3; seed 1: (3, 3) then (1, 2): 1.5 / 3."""
    plan = plan_for(repo_root, seeds=[0, 1], tables=["figure6"])
    boxes = [[0, 0, 16, 16], [16, 16, 32, 32]]  # the second box: the same pattern shifted one stride-16 cell
    levels = {4: ([1, 1, 1, 1], 0.4), 3: ([1, 1, 1, 0], 0.4), 2: ([1, 1, 0, 0], 0.4), 1: ([1, 0, 0, 0], 0.4)}

    def maps(first: int, second: int) -> dict:
        one, two = score_maps(*levels[first], boxes), score_maps(*levels[second], boxes)
        one["score_0"][2:, 2:], one["score_1"][1, 1] = two["score_0"][:2, :2], two["score_1"][0, 0]
        return one

    for seed, (early, late) in {0: ((4, 2), (1, 1)), 1: ((3, 3), (1, 2))}.items():
        folder = write_run(tmp_path, "o2f_r50_1x", seed, [ap(10.0), ap(12.0)]).parent / "score_maps"
        folder.mkdir()
        np.savez(folder / "epoch_1.npz", **maps(*early))
        np.savez(folder / "epoch_2.npz", **maps(*late))
    outcome = outcomes_by_id(plan, Results(plan, root=tmp_path))["30"]
    assert outcome.per_seed == pytest.approx({0: 1 / 3, 1: 0.5})
    assert outcome.method == "bootstrap over seeds 0, 1 and 2 objects of Figure 6's image, enveloped by the seed-only t"
    assert outcome.boot_high <= 1.0  # every replicate: the late count below the early
    assert outcome.verdict == C.NOT_RESOLVED and outcome.high == outcome.seed_high > 1.0  # two seeds: t(1) = 12.7


def write_speed(root: Path, plan: Plan, experiment: str, forward: list[float], post: float, nms: float,
                device: str = "CPU (Test CPU), 1 threads") -> None:
    """``o2f speed``'s file: per-image forward times, a constant post-processing and NMS time."""
    import json

    from o2f.speed_cells import medians

    per_image = {"forward": forward, "post": [post] * len(forward), "nms": [nms] * len(forward)}
    path = root / plan.speed_file(experiment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**medians(per_image), "per_image": per_image, "device": device}))


def test_the_speed_claim_resamples_the_timed_images_of_one_measurement(repo_root, tmp_path):
    """Claim 31 (Table 5's FPS): FCOS with NMS 1000 / (14 + 2 + 1) on every image; one-to-few's forward 11 to
    13 ms with 1 ms of selection: FPS 1000 / 13 at the medians, between 1000 / 14 and 1000 / 12 on any
    multiset of the five images, so every replicate is above FCOS. It is read outside Holm's family."""
    plan = plan_for(repo_root, seeds=[0, 1, 2], tables=["table5"])
    write_speed(tmp_path, plan, "fcos_r50_1x", [14] * 5, post=3, nms=1)
    write_speed(tmp_path, plan, "o2f_r50_1x", [11, 11, 12, 13, 13], post=1.5, nms=0.5)
    write_run(tmp_path, "fcos_r50_1x", 0, [ap(9.0, 18.0)])  # a claim with a p-value beside it (claim 1)
    outcomes = C.evaluate_claims(plan, Results(plan, root=tmp_path))
    outcome = next(o for o in outcomes if o.claim.id == "31")
    assert outcome.per_seed == pytest.approx({0: 1000 / 13 - 1000 / 17})
    assert outcome.method == "bootstrap over the 5 timed images (one measurement each, no seed)"
    assert 1000 / 14 - 1000 / 17 - 1e-9 <= outcome.low < outcome.high <= 1000 / 12 - 1000 / 17 + 1e-9
    assert outcome.verdict == C.HOLDS and outcome.kinds == ("CPU (Test CPU), 1 threads",)
    assert outcome.adjusted == C.HOLDS and outcome.adjusted_p is None  # outside Holm's family
    assert "31" not in [row["id"] for row in C.plot_rows(outcomes)]
    training_kind = next(kind for o in outcomes if o.claim.id == "1" for kind in o.kinds)
    assert C.provenance(outcomes) == (f"Trainings on: {training_kind}. Timings on: CPU (Test CPU), 1 threads. "
                                      "Bootstrap draws: 5 timed images (claims 31).")
    assert set(plan.claim_evidence_files()) >= {plan.speed_file("fcos_r50_1x"), plan.speed_file("o2f_r50_1x")}
    # A DAG that measures no speed (the default target trains both models, shows no speed) does not read it.
    default = plan_for(repo_root)
    assert not any(f.endswith("speed.json") for f in default.claim_evidence_files())
    assert outcomes_by_id(default, Results(default, root=tmp_path))["31"].verdict == C.NOT_RUN


def test_a_speed_claim_without_enough_timings_or_on_two_devices_is_not_resolved(repo_root, tmp_path):
    plan = plan_for(repo_root, seeds=[0], tables=["table5"])
    write_speed(tmp_path, plan, "fcos_r50_1x", [14] * 3, post=3, nms=1)
    write_speed(tmp_path, plan, "o2f_r50_1x", [11, 12, 13], post=1.5, nms=0.5)
    few = outcomes_by_id(plan, Results(plan, root=tmp_path))["31"]
    assert few.verdict == C.NOT_RESOLVED and few.low is None and "rerun o2f speed" in few.method
    write_speed(tmp_path, plan, "o2f_r50_1x", [11, 12, 13, 12, 12], post=1.5, nms=0.5, device="GPU (Test GPU)")
    write_speed(tmp_path, plan, "fcos_r50_1x", [14] * 5, post=3, nms=1)
    mixed = outcomes_by_id(plan, Results(plan, root=tmp_path))["31"]
    assert mixed.verdict == C.NOT_RESOLVED and mixed.note.startswith("timed on different devices")


def test_figure6_claim_without_an_object_holding_an_anchor_is_not_run(repo_root, tmp_path):
    plan = plan_for(repo_root, seeds=[0, 1], tables=["figure6"])
    for seed in (0, 1):
        folder = write_run(tmp_path, "o2f_r50_1x", seed, [ap(10.0), ap(12.0)]).parent / "score_maps"
        folder.mkdir()
        for epoch in (1, 2):  # one box no anchor centre falls in
            np.savez(folder / f"epoch_{epoch}.npz", **score_maps([1, 1, 1, 1], 0.4, [[17, 17, 19, 19]]))
    assert outcomes_by_id(plan, Results(plan, root=tmp_path))["30"].verdict == C.NOT_RUN


@pytest.mark.parametrize("change, message", [
    (lambda c: c["cells"]["poto"].update(table="table55"), "claim 2, cell poto: no table 'table55'"),
    (lambda c: c["cells"]["poto"].update(row="POTTO"), "claim 2, cell poto: table5 has no row 'POTTO'"),
    (lambda c: c["cells"]["poto"].update(column="AP(9x)"), "claim 2, cell poto: table5 has no column 'AP(9x)'"),
    (lambda c: c["cells"]["poto"].update(metric="bbox_mAPP"), "claim 2, cell poto: unknown metric 'bbox_mAPP'"),
    (lambda c: c.update(comparison="poto - fcs"), "claim 2: comparison 'poto - fcs' reads 'fcs'"),
    (lambda c: c.update(comparison="poto ** fcos"), "claim 2: comparison 'poto ** fcos': 'poto ** fcos' is not"),
    (lambda c: c.update(comparison="first(poto) - fcos"), "claim 2: first() takes a curve"),
    (lambda c: c.update(holds_if="above 0"), "configs/tables.yaml: claims[1].holds_if: 'above 0' does not match"),
    (lambda c: c.pop("paper"), "configs/tables.yaml: claims[1]: 'paper' is a required property"),
])
def test_a_bad_claim_stops_at_load_with_one_line(repo_root, change, message):
    spec = copy.deepcopy(SPEC)
    change(next(c for c in spec["claims"] if c["id"] == "2"))
    with pytest.raises(O2FError) as raised:
        plan_for(repo_root, spec)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_rows_of_one_name_are_picked_by_the_tables_labels(repo_root):
    spec = copy.deepcopy(SPEC)
    del next(c for c in spec["claims"] if c["id"] == "4")["cells"]["with_aux"]["LA"]
    with pytest.raises(O2FError, match="table5 has 3 rows named 'POTO\\+3DMF\\+Aux'; add the table's labels"):
        plan_for(repo_root, spec)
    cell = next(c for c in plan_for(repo_root).claims if c.id == "4").cells["with_aux"]
    assert cell.experiment == "poto-3dmf-aux-atss_r50_1x" and cell.nms is False


def test_claims_paper_values_follow_from_the_tables_paper_cells(repo_root):
    """Where every cell of a claim has a paper value, the claim's `paper` is the comparison over them."""
    plan = plan_for(repo_root)
    checked = 0
    for entry in SPEC["claims"]:
        claim = next(c for c in plan.claims if c.id == entry["id"])
        if claim.paper is None:  # Figure 5's two, Figure 6's, and claim 29 beyond the paper
            continue
        values = {}
        for name, selector in entry["cells"].items():
            if "table" not in selector:
                break
            table = SPEC["tables"][selector["table"]]
            rows, (column,) = plan.find_cell(selector["table"], selector, name)
            nms = claim.cells[name].nms  # FCOS's two rows: the one showing the claim's NMS variant
            shown = [table["rows"][i] for i in rows]
            row = next((r for r in shown if r.get("nms", False) == nms), shown[0])
            paper = row.get("paper", {}).get(table["columns"][column]["name"])
            parts = str(paper).split("/")  # "w/o/w/" cells: pick the claim's variant
            values[name] = float(parts[int(claim.cells[name].nms)] if len(parts) == 2 else parts[0])
        else:
            assert claim.comparison.evaluate(values) == pytest.approx(claim.paper, abs=10 ** -claim.digits / 2 + 1e-9)
            checked += 1
    assert checked == len(SPEC["claims"]) - 4


def test_expression_grammar_and_linear_form():
    assert Expression("(a_nms - a) - (b_nms - b)").linear() == (0.0, {"a_nms": 1.0, "a": -1.0, "b_nms": -1.0, "b": 1.0})
    assert Expression("x - 0.5 * y").linear() == (0.0, {"x": 1.0, "y": -0.5})
    assert Expression("x / y").linear() is None and Expression("first(x) - last(x)").linear() is None
    assert Expression("(x - y) / 2").evaluate({"x": 5.0, "y": 1.0}) == 2.0
    best = Expression("k7 - max(k5, k9, k3)")  # the best of several cells (Table 2's K): not linear
    assert best.names == ["k7", "k5", "k9", "k3"] and best.linear() is None
    assert best.evaluate({"k7": 39.0, "k5": 38.9, "k9": 38.6, "k3": 38.4}) == pytest.approx(0.1)
    assert Expression("min(a, b, c) - max(a, b, c)").evaluate({"a": 1.0, "b": 4.0, "c": 2.5}) == -3.0
    with pytest.raises(O2FError, match="is not allowed"):
        Expression("__import__('os')")


@pytest.mark.slow
def test_claims_target_trains_every_claims_runs_at_the_configured_seeds(repo_root, tmp_path):
    """`--config 'tables=[claims]' 'seeds=[0,1,2]'`: 52 experiments x 3 seeds at demo and the claims report;
    the seeds arrive from the command line as text."""
    from dag import project_copy

    plan = plan_for(repo_root, tables=["claims"], seeds=["0", "1", "2"])
    assert plan.settings["seeds"] == [0, 1, 2] and len(plan.experiments_for()) == 52
    done = snakemake(project_copy(repo_root, tmp_path / "claims"), "-n", "--cores", "2",
                     "--config", "tables=[claims]", "seeds=[0,1,2]")
    assert done.returncode == 0, done.stderr[-2000:]
    counts = job_counts(done.stdout)
    assert counts["train"] == 52 * 3 and counts["claims_report"] == 1 and "table" not in counts


@pytest.mark.slow
def test_listed_claims_train_only_their_runs(repo_root, tmp_path):
    """`claims=[1,2,3,4,5,6,7,8a,8b]` (ids from the command line, numbers as integers) trains the six
    Table 5 runs claims 1-8 compare; an unknown id stops in one line."""
    from dag import project_copy

    plan = plan_for(repo_root, tables=["claims"], claims=[1, 2, 3, 4, 5, 6, 7, "8a", "8b"], seeds=[0, 1, 2])
    assert sorted(plan.experiments_for()) == sorted([
        "fcos_r50_1x", "poto_r50_1x", "poto-3dmf_r50_1x", "poto-3dmf-aux-atss_r50_1x", "o2f_r50_1x",
        "o2f_r50_1x_1conv"])
    done = snakemake(project_copy(repo_root, tmp_path / "claims"), "-n", "--cores", "2",
                     "--config", "tables=[claims]", "claims=[3,7]", "seeds=[0,1,2]")
    assert done.returncode == 0, done.stderr[-2000:]
    assert job_counts(done.stdout)["train"] == 4 * 3  # POTO, POTO+3DMF, Ours-1conv, Ours-3convs
    with pytest.raises(O2FError) as raised:
        plan_for(repo_root, tables=["claims"], claims=["3", "99"])
    known = ", ".join(str(c["id"]) for c in SPEC["claims"])
    assert str(raised.value) == f"unknown claim(s) 99; choose from all, {known}"


def test_power_names_an_effect_on_the_threshold_apart_from_one_too_small():
    """Claim 18's paper value is its threshold: no number of seeds detects a zero effect, and the column says
    why instead of reading like an effect too small to find."""
    assert C.power_seeds(0.5, 0.0, 0.01) == C.ON_THRESHOLD
    assert C.seeds_text(C.power_seeds(0.5, 0.0, 0.01)) == "none (on the threshold)"
    assert C.power_seeds(0.5, 1e-4, 0.01) is None and C.seeds_text(None) == f"> {C.S.MAX_SEEDS_FOR_POWER}"
