"""Claims: loading from tables.yaml (bad names stop at load), comparisons, intervals and verdicts on
fixture metrics against hand-computed values, and the claims report."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import yaml
from dag import job_counts, settings, snakemake

from o2f.errors import O2FError
from o2f.pipeline.plan import Plan
from o2f.pipeline.reporting import claims as C
from o2f.pipeline.reporting.expression import Expression
from o2f.pipeline.reporting.results import Results

T_975_2 = 4.302652729749462  # Student t, 97.5 % quantile, 2 degrees of freedom (tables: 4.303)
SPEC = yaml.safe_load((Path(__file__).resolve().parent.parent / "configs/tables.yaml").read_text())


def plan_for(repo_root, spec=None, **changes) -> Plan:
    return Plan(copy.deepcopy(spec or SPEC), settings(repo_root, **changes), root=repo_root)


def write_run(work: Path, experiment: str, seed: int, epochs: list[dict], scale: str = "demo") -> None:
    """A finished run's final_metrics.json: per-epoch metrics (fractions, as the hooks write them)."""
    path = work / "work_dirs" / scale / experiment / f"seed{seed}" / "final_metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"epochs": [{"epoch": i + 1, **e} for i, e in enumerate(epochs)], "final": epochs[-1]}))


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
    assert holds.verdict == C.HOLDS and holds.n == 3 and holds.method == "paired t over seeds 0, 1, 2"
    assert holds.mean == pytest.approx(2.2) and (holds.low, holds.high) == pytest.approx((2.2 - half, 2.2 + half))
    assert (holds.low, holds.high) == pytest.approx((1.7032, 2.6968), abs=1e-4)

    contradicted = found["3"]  # POTO+3DMF - POTO > 0, but -2.0, -2.2, -2.4
    assert contradicted.verdict == C.CONTRADICTED
    assert (contradicted.low, contradicted.high) == pytest.approx((-2.2 - half, -2.2 + half))

    unresolved = found["2"]  # POTO - FCOS: 1, 2, 3 -> mean 2, sd 1, [2 -+ 4.3027 / sqrt 3]
    assert unresolved.verdict == C.NOT_RESOLVED
    assert (unresolved.low, unresolved.high) == pytest.approx((-0.4841, 4.4841), abs=1e-4)
    assert unresolved.per_seed == pytest.approx({0: 1.0, 1: 2.0, 2: 3.0})

    ratio = found["1"]  # FCOS without / with NMS: 0.5, 0.45, 0.45 against "< 0.5"
    assert ratio.mean == pytest.approx(0.46667, abs=1e-5) and ratio.method == "t over seeds 0, 1, 2"
    assert (ratio.low, ratio.high) == pytest.approx((0.39496, 0.53838), abs=1e-5)
    assert ratio.verdict == C.NOT_RESOLVED

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


def test_one_seed_is_not_resolved_and_differing_seeds_use_welch(repo_root):
    claim = next(c for c in plan_for(repo_root).claims if c.id == "5")  # o2f - poto > 0
    single = C.evaluate(claim, {"o2f": {0: 15.0}, "poto": {0: 13.0}})
    assert single.verdict == C.NOT_RESOLVED and single.n == 1 and single.mean == pytest.approx(2.0)
    assert single.low is None and single.method == "one seed (0): no interval"

    # Ours ran seeds 0, 1 (15, 17: mean 16, variance 2); POTO 0, 1, 2 (10, 11, 12: mean 11, variance 1).
    # se^2 = 2/2 + 1/3; Welch-Satterthwaite df = se^4 / (1^2/1 + (1/3)^2/2) = 1.6842; t(0.975, 1.6842) = 5.1762
    welch = C.evaluate(claim, {"o2f": {0: 15.0, 1: 17.0}, "poto": {0: 10.0, 1: 11.0, 2: 12.0}})
    half = 5.1762316 * math.sqrt(2 / 2 + 1 / 3)
    assert welch.method == "Welch t over each run's seeds" and welch.mean == pytest.approx(5.0)
    assert (welch.low, welch.high) == pytest.approx((5.0 - half, 5.0 + half), abs=1e-5)
    assert welch.verdict == C.NOT_RESOLVED  # 5 -+ 5.98 straddles 0


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
    shrink = found["8a"]  # first gap - last gap: 6 - 1 = 5, 5 - 1.5 = 3.5
    assert shrink.per_seed == pytest.approx({0: 5.0, 1: 3.5})
    half = 12.706204736 * 0.75  # t(0.975, 1) x sem (sd 1.0607 / sqrt 2)
    assert (shrink.low, shrink.high) == pytest.approx((4.25 - half, 4.25 + half), abs=1e-6)
    assert shrink.verdict == C.NOT_RESOLVED  # two seeds: a wide interval
    small = found["8b"]  # o2f's first gap - o2o's largest gap: 6 - 2 = 4, 5 - 1 = 4
    assert small.per_seed == pytest.approx({0: 4.0, 1: 4.0})
    assert small.verdict == C.HOLDS and "every seed gives the same value" in small.method


def test_missing_runs_read_not_run_and_the_rest_render(demo_runs, tmp_path):
    plan, results = demo_runs
    frame = C.claims_frame(C.evaluate_claims(plan, results), plan.settings["seeds"])
    md, csv = C.write_claims(frame, tmp_path / "reports" / "claims", "demo", plan.settings["seeds"])
    rows = {r["id"]: r for r in frame.to_dict("records")}
    assert rows["5"]["verdict"] == C.HOLDS and rows["5"]["95% interval"] == "[1.7, 2.7]"
    assert rows["5"]["seed 0"] == "2.00" and rows["5"]["seed 2"] == "2.40"  # each seed's value in the CSV
    assert rows["1"]["ours (mean)"] == "0.47" and rows["1"]["paper"] == "0.46"  # ratios with two decimals
    assert rows["7"]["verdict"] == C.NOT_RUN and rows["7"]["ours (mean)"] == "–"
    assert rows["8a"]["paper"].startswith("– (Figure 5")
    text = md.read_text()
    assert "2 holds" in text and f"{sum(r['verdict'] == C.NOT_RUN for r in rows.values())} not run" in text
    assert "| 5    |" in text and "claim 7: no finished run of o2f_r50_1x_1conv gives one" in text
    assert "seed 0" in csv.read_text().splitlines()[0] and "seed 0" not in text


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
    assert checked == len(SPEC["claims"]) - 2  # all but Figure 5's two


def test_expression_grammar_and_linear_form():
    assert Expression("(a_nms - a) - (b_nms - b)").linear() == (0.0, {"a_nms": 1.0, "a": -1.0, "b_nms": -1.0, "b": 1.0})
    assert Expression("x - 0.5 * y").linear() == (0.0, {"x": 1.0, "y": -0.5})
    assert Expression("x / y").linear() is None and Expression("first(x) - last(x)").linear() is None
    assert Expression("(x - y) / 2").evaluate({"x": 5.0, "y": 1.0}) == 2.0
    with pytest.raises(O2FError, match="is not allowed"):
        Expression("__import__('os')")


@pytest.mark.slow
def test_claims_target_trains_every_claims_runs_at_the_configured_seeds(repo_root, tmp_path):
    """`--config 'tables=[claims]' 'seeds=[0,1,2]'`: 18 experiments x 3 seeds and the claims report; the
    seeds arrive from the command line as text."""
    from dag import project_copy

    plan = plan_for(repo_root, tables=["claims"], seeds=["0", "1", "2"])
    assert plan.settings["seeds"] == [0, 1, 2] and len(plan.experiments_for()) == 18
    done = snakemake(project_copy(repo_root, tmp_path / "claims"), "-n", "--cores", "2",
                     "--config", "tables=[claims]", "seeds=[0,1,2]")
    assert done.returncode == 0, done.stderr[-2000:]
    counts = job_counts(done.stdout)
    assert counts["train"] == 18 * 3 and counts["claims_report"] == 1 and "table" not in counts


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
