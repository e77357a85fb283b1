"""The DAG: full-scale planning, a tiny end-to-end run, reruns, bad settings, the report renderer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from dag import (
    SHARES_TINY_RUN,
    TEST_KIND,
    TINY,
    TINY_EXPERIMENTS,
    evidence_path,
    fake_finished_dag,
    job_counts,
    local_tiny_run,
    project_copy,
    settings,
    snakemake,
    write_evidence,
    write_tables,
)

from o2f.errors import O2FError
from o2f.pipeline.plan import Plan
from o2f.reporting.results import Results
from o2f.reporting.tables import table_frame


def refused_url() -> str:
    """An http URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.slow
def test_full_scale_plan_covers_every_table_and_trains_shared_experiments_once(repo_root, tmp_path):
    plan = Plan.from_files(repo_root / "configs/tables.yaml", settings(repo_root, scale="full", tables=["all"]),
                           root=repo_root)
    start = time.perf_counter()
    experiments = plan.experiments_for()
    assert time.perf_counter() - start < 5
    assert len(experiments) == len(set(experiments))
    # the default one-to-few run appears in several tables but is one experiment
    assert "o2f_r50_1x" in plan.experiments_for(["table5"]) and "o2f_r50_1x" in plan.experiments_for(["figure5"])

    work = project_copy(repo_root, tmp_path / "full")
    for dataset in ("coco", "crowdhuman"):
        (work / "data" / dataset).mkdir(parents=True)
    done = snakemake(work, "-n", "--profile", "workflow/profiles/slurm", "--config", "scale=full", "tables=[all]")
    assert done.returncode == 0, done.stderr[-2000:]
    counts = job_counts(done.stdout)
    assert counts["train"] == len(experiments)
    assert counts["table"] == len(plan.tables) and counts["figure"] == len(plan.figures)


@pytest.mark.slow
def test_default_target_is_the_headline_set_at_demo_scale(repo_root, tmp_path):
    """`snakemake --cores all` plans the headline of Table 5 (FCOS, POTO, POTO+3DMF+Aux (ATSS),
    one-to-few) and Figures 5 and 6 on the demo data: four trainings, each run once."""
    defaults = settings(repo_root)
    assert defaults["scale"] == "demo" and defaults["tables"] == ["headline", "figure5", "figure6"]
    plan = Plan.from_files(repo_root / "configs/tables.yaml", defaults, root=repo_root)
    headline = plan.experiments_for(["headline"])
    assert headline == ["fcos_r50_1x", "poto_r50_1x", "poto-3dmf-aux-atss_r50_1x", "o2f_r50_1x"]
    assert set(plan.experiments_for(["figure5", "figure6"])) <= set(headline)
    assert set(headline) <= set(plan.experiments_for(["table5"]))

    done = snakemake(project_copy(repo_root, tmp_path / "default"), "-n", "--cores", "2")
    assert done.returncode == 0, done.stderr[-2000:]
    counts = job_counts(done.stdout)
    assert counts["train"] == len(plan.experiments_for()) == len(headline)
    assert "speed" not in counts and counts["table"] == 1 and counts["data_demo_trees"] == 1


@pytest.mark.slow
def test_bad_settings_fail_in_one_line_before_any_job(repo_root, tmp_path):
    work = project_copy(repo_root, tmp_path / "bad")
    server = refused_url()
    for config, expected in ((["scale=huge"], "unknown scale 'huge'; choose one of ci, demo, full"),
                             (["tables=[table99]"], "unknown table(s) table99"),
                             (["scale=full"], "dataset root data/coco does not exist"),
                             (["scales={ci: {datasets: {coco: data/mine}}}"], "edit them there, not with --config"),
                             ([f"mlflow={{tracking_uri: '{server}', experiment: o2f}}"],
                              f"MLflow tracking store {server} is unreachable")):
        done = snakemake(work, "-n", "--config", *config)
        assert done.returncode != 0
        errors = [line for line in done.stderr.splitlines() if line.startswith("o2f: error:")]
        assert len(errors) == 1 and expected in errors[0], done.stderr[-1500:]
    assert not (work / "work_dirs").exists()


@pytest.mark.slow
@SHARES_TINY_RUN
def test_tiny_dag_end_to_end_reruns_nothing_and_reruns_one_deleted_job(repo_root, tmp_path_factory):
    run = local_tiny_run(repo_root, tmp_path_factory)  # shared with the Slurm test, which compares to it
    work, config = run.work, TINY
    assert run.done.returncode == 0, run.done.stderr[-3000:]

    table = (work / "reports/ci/hybrid_epoch.csv").read_text().splitlines()
    assert [line.split(",")[0] for line in table[1:]] == ["Hybrid-Epoch", "Ours"]
    assert (work / "reports/ci/figure5.png").exists() and (work / "reports/ci/index.html").exists()

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["o2f"])
    assert sorted(runs["tags.experiment"]) == TINY_EXPERIMENTS
    ours = runs[runs["tags.experiment"] == "o2f_r50_1x"].iloc[0]  # tags the job read from the plan itself
    assert {"hybrid_epoch", "figure5"} <= set(ours["tags.tables"].split(","))
    assert "hybrid_epoch:Ours" in ours["tags.rows"].split(";")
    history = mlflow.tracking.MlflowClient().get_metric_history(runs["run_id"][0], "coco/nonms_bbox_mAP")
    assert [m.step for m in history] == [1, 2]  # one value per epoch

    again = snakemake(work, "-n", "--cores", "2", *config)
    assert "Nothing to be done" in again.stdout + again.stderr

    # A deleted output, asked for again, reruns its own job and nothing upstream of it.
    os.remove(work / "reports/ci/hybrid_epoch.md")
    partial = snakemake(work, "-n", "--cores", "2", "reports/ci/hybrid_epoch.md", *config)
    assert job_counts(partial.stdout) == {"table": 1}
    metrics = "work_dirs/ci/poto_r50_1x/seed0/final_metrics.json"
    os.remove(work / metrics)
    retrain = snakemake(work, "-n", "--cores", "2", metrics, *config)
    assert job_counts(retrain.stdout) == {"train": 1}


@pytest.mark.slow
@SHARES_TINY_RUN
def test_a_finished_campaign_moves_to_another_store_without_retraining(repo_root, tmp_path_factory, tmp_path):
    """`o2f mlflow-move --to URI` copies each finished run (params, tags, metric histories, artifacts,
    status) and points its work dir at the copy; the DAG against the new store trains nothing; a second
    move changes nothing."""
    import shutil

    import mlflow

    from o2f.pipeline.cli import main

    run = local_tiny_run(repo_root, tmp_path_factory)
    assert run.done.returncode == 0, run.done.stderr[-2000:]
    work = tmp_path / "moved"
    shutil.copytree(run.work, work, symlinks=True)
    for path, written in run.results.items():  # as the run left them (the tiny DAG's test deletes some)
        (work / path).write_bytes(written)
    old_ids = {p.parent: p.read_text() for p in (work / "work_dirs").glob("ci/*/seed0/mlflow_run_id")}
    assert len(old_ids) == len(TINY_EXPERIMENTS)
    target = f"sqlite:///{tmp_path / 'server.db'}"
    os.chdir(work)
    try:
        assert main(["mlflow-move", "--to", target]) == 0
        assert main(["mlflow-move", "--to", target]) == 0  # again: finds its copies
    finally:
        os.chdir(repo_root)
    source, moved = (mlflow.tracking.MlflowClient(u) for u in (f"sqlite:///{work / 'mlflow.db'}", target))
    copies = moved.search_runs([moved.get_experiment_by_name("o2f").experiment_id])
    assert len(copies) == len(old_ids) and {r.info.status for r in copies} == {"FINISHED"}
    for work_dir, old in old_ids.items():
        new = (work_dir / "mlflow_run_id").read_text()
        assert new != old and moved.get_run(new).data.tags["o2f.copied_from"] == old
        assert moved.get_run(new).data.params == source.get_run(old).data.params
        history = [(m.step, m.value) for m in moved.get_metric_history(new, "coco/nonms_bbox_mAP")]
        assert history == [(m.step, m.value) for m in source.get_metric_history(old, "coco/nonms_bbox_mAP")]
        assert len(history) == 2
        assert {a.path for a in moved.list_artifacts(new)} == {a.path for a in source.list_artifacts(old)}
    done = snakemake(work, "-n", *TINY, f'mlflow={{"tracking_uri": "{target}", "experiment": "o2f"}}')
    assert done.returncode == 0, done.stderr[-2000:]
    assert not any(f"experiment={work_dir.parent.name}," in done.stdout for work_dir in old_ids)  # none retrains


@pytest.mark.slow
def test_a_table_or_row_reusing_a_trained_experiment_trains_nothing(repo_root, tmp_path):
    """A job's params are the experiment's identity only: a new table and a new row showing a finished
    run render reports and retrain nothing under Snakemake's default rerun triggers."""
    work = project_copy(repo_root, tmp_path / "reuse", own_tables=True)
    config = ["--config", "scale=ci", "tables=[hybrid_epoch]"]
    fake_finished_dag(work, *config)
    done = snakemake(work, "-n", *config)
    assert job_counts(done.stdout + done.stderr) == {}

    spec = yaml.safe_load((work / "configs/tables.yaml").read_text())
    spec["tables"]["hybrid_epoch"]["rows"].append({"name": "Ours again", "experiments": {"1x": "o2f_r50_1x"}})
    spec["tables"]["reuse"] = {"title": "One-to-few once more.", "cell": {"metric": "bbox_mAP", "nms": False},
                               "columns": [{"name": "AP", "experiment": "o2f_r50_1x"}], "rows": [{"name": "Ours"}]}
    write_tables(work, spec)
    done = snakemake(work, "-n", "--config", "scale=ci", "tables=[hybrid_epoch,reuse]")
    assert done.returncode == 0, done.stderr[-2000:]
    counts = job_counts(done.stdout)
    assert "train" not in counts and counts["table"] == 2, done.stdout[-2000:]  # the new table, the longer one


def environment_copy(where: Path) -> Path:
    """An interpreter at another path that sees this environment's packages (as a copy of the environment
    elsewhere would): a bare venv whose site-packages adds this one's."""
    import site
    import venv

    venv.create(where, with_pip=False)
    (packages,) = (where / "lib").glob("python*/site-packages")
    ours = next(p for p in site.getsitepackages() if p.startswith(sys.prefix))
    (packages / "o2f_env_copy.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return where / "bin" / "python"


@pytest.mark.slow
def test_a_job_is_its_identity_not_where_it_runs_or_logs(repo_root, tmp_path):
    """A finished DAG, rerun against another MLflow store and from an interpreter at another path, trains
    nothing; an edited override retrains exactly that experiment and re-renders what reads it."""
    work = project_copy(repo_root, tmp_path / "identity", own_tables=True)
    config = ["--config", "scale=ci", "tables=[hybrid_epoch,figure5]"]
    fake_finished_dag(work, *config)
    other_store = 'mlflow={"tracking_uri": "sqlite:///other.db", "experiment": "o2f"}'
    done = snakemake(work, "-n", *config, other_store)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "train" not in job_counts(done.stdout) and "data_synthetic_shapes" not in job_counts(done.stdout)

    python = environment_copy(tmp_path / "env at another path")
    done = subprocess.run([str(python), "-m", "snakemake", "-n", *config], cwd=work, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert job_counts(done.stdout) == {}, done.stdout[-2000:]

    spec = yaml.safe_load((work / "configs/tables.yaml").read_text())
    spec["experiments"]["hybrid-epoch_r50_1x"].setdefault("overrides", {})["optim_wrapper.optimizer.lr"] = 0.005
    write_tables(work, spec)
    done = snakemake(work, "-n", *config)
    assert job_counts(done.stdout)["train"] == 1, done.stdout[-2000:]
    assert "experiment=hybrid-epoch_r50_1x" in done.stdout and "experiment=o2f_r50_1x" not in done.stdout
    assert "wildcards: table=hybrid_epoch" in done.stdout and "figure" not in job_counts(done.stdout)


@pytest.mark.slow
def test_committed_evidence_stands_for_its_run_and_render_trains_nothing(repo_root, tmp_path):
    """A fresh clone holds the evidence and no work dir: `render` plans report jobs only; a run without
    evidence, or whose evidence trained another spec, trains alone (not every run beside it); the main job
    trains the configured runs (its reproduction report compares them with the evidence)."""
    from o2f.pipeline.evidence_kinds import kind_here

    work = project_copy(repo_root, tmp_path / "clone", own_tables=True)
    plan = Plan.from_files(repo_root / "configs/tables.yaml", settings(repo_root), root=repo_root)
    experiments = plan.experiments_for()
    here = kind_here(plan.kinds.precision_setting(experiments[0]), tmp_path)  # committed on this machine's kind
    for experiment in experiments:
        spec = plan.experiment_spec(experiment)
        write_evidence(work, "demo", experiment, 0, [{"epoch": 12, "coco/nms_bbox_mAP": 0.1}], kind=here, **spec)
    done = snakemake(work, "-n", "render")
    assert done.returncode == 0, done.stderr[-2000:]
    counts = job_counts(done.stdout)
    assert counts.get("index") == 1 and not {"train", "evidence", "data_demo_trees"} & set(counts), counts
    timed = Plan.from_files(repo_root / "configs/tables.yaml", settings(repo_root, tables=["table5"]), root=repo_root)
    for experiment in timed.experiments_for():
        write_evidence(work, "demo", experiment, 0, [{"epoch": 12, "coco/nms_bbox_mAP": 0.1}], kind=here,
                       **timed.experiment_spec(experiment))
    done = snakemake(work, "-n", "render", "--config", "tables=[table5]")  # its speed columns are measured here
    counts = job_counts(done.stdout)
    assert counts.get("speed") and not {"train", "evidence"} & set(counts), counts
    for experiment in timed.experiments_for():  # measured: a run of the table trained here re-measures none
        (work / timed.speed_file(experiment)).write_text(json.dumps({"forward": 1.0, "select": 0.1, "nms": 0.5}))
    untrained = timed.experiments_for()[0]
    os.remove(evidence_path(work, "demo", untrained, 0, here))
    # as in a clone, the reports exist, newer than the evidence: the run they need without evidence trains
    rendered = [work / "reports/demo" / f"{name}.{ext}" for name, exts in
                (("table5", ("csv", "md", "tex")), ("claims", ("md", "csv", "png")), ("index", ("html",)))
                for ext in exts]
    for report in rendered:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text("rendered before")
    done = snakemake(work, "-n", "render", "--config", "tables=[table5]")
    counts = job_counts(done.stdout)
    assert counts.get("train") == 1 and "speed" not in counts, counts
    for report in rendered:
        report.unlink()
    write_evidence(work, "demo", untrained, 0, [{"epoch": 12, "coco/nms_bbox_mAP": 0.1}], kind=here,
                   **timed.experiment_spec(untrained))

    os.remove(evidence_path(work, "demo", experiments[0], 0, here))  # not run yet here
    spec = yaml.safe_load((work / "configs/tables.yaml").read_text())
    spec["experiments"][experiments[1]].setdefault("overrides", {})["optim_wrapper.optimizer.lr"] = 0.005
    write_tables(work, spec)
    done = snakemake(work, "-n", "render")
    assert job_counts(done.stdout)["train"] == 2, done.stdout[-2000:]
    assert f"experiment={experiments[0]}" in done.stdout and f"experiment={experiments[1]}" in done.stdout
    done = snakemake(work, "-n")
    assert job_counts(done.stdout)["train"] == len(experiments), done.stdout[-2000:]


@pytest.mark.slow
def test_editing_a_paper_value_re_renders_that_table_and_the_index_only(repo_root, tmp_path):
    """The report rules declare what they read from tables.yaml (a digest param per report): a paper
    value re-renders its table, the claims that read it (claim 12's reference cell) and the index; a
    figure's title its figure and the index."""
    work = project_copy(repo_root, tmp_path / "edit", own_tables=True)
    config = ["--config", "scale=ci", "tables=[hybrid_epoch,headline,figure5]"]
    fake_finished_dag(work, *config)
    done = snakemake(work, "-n", *config)
    assert job_counts(done.stdout + done.stderr) == {}, done.stdout[-2000:]  # the digests are stable

    spec = yaml.safe_load((work / "configs/tables.yaml").read_text())
    spec["tables"]["hybrid_epoch"]["rows"][1]["paper"]["AP(1x)"] = 39.5
    write_tables(work, spec)
    done = snakemake(work, "-n", *config)
    assert job_counts(done.stdout) == {"table": 1, "claims_report": 1, "index": 1, "all": 1}, done.stdout[-2000:]
    assert "wildcards: table=hybrid_epoch" in done.stdout

    spec["tables"]["hybrid_epoch"]["rows"][1]["paper"]["AP(1x)"] = 39.0  # back: nothing to do again
    spec["figures"]["figure5"]["title"] = "Figure 5, renamed."
    write_tables(work, spec)
    done = snakemake(work, "-n", *config)
    assert job_counts(done.stdout) == {"figure": 1, "index": 1, "all": 1}, done.stdout[-2000:]


def test_a_job_tags_its_run_with_the_tables_and_rows_that_show_it(repo_root, monkeypatch):
    """The job gets the experiment's identity; its config, work dir, run name and tags come from the plan."""
    from o2f.pipeline.cli import build_parser
    from o2f.pipeline.job import requested_job

    monkeypatch.chdir(repo_root)
    args = build_parser().parse_args(["train", "--experiment", "o2f_r50_1x", "--seed", "1", "--scale", "ci"])
    job, mlflow = requested_job(args)
    assert (job.config, job.work_dir, job.run_name) == ("configs/o2f/o2f_r50_fpn_1x_coco.py",
                                                        "work_dirs/ci/o2f_r50_1x/seed1", "o2f_r50_1x-seed1")
    assert mlflow["tracking_uri"] == "sqlite:///mlflow.db"
    assert job.tags["experiment"] == "o2f_r50_1x"
    assert {"table5", "headline", "hybrid_epoch", "figure5", "figure6"} <= set(job.tags["tables"].split(","))
    assert "table1" not in job.tags["tables"].split(",")  # Table 1 shows o2o_r50_1x and static labels, not this run
    assert "hybrid_epoch:Ours" in job.tags["rows"].split(";") and "table5:Ours-3convs" in job.tags["rows"].split(";")
    where = '{"work_root": "elsewhere", "mlflow": {"tracking_uri": "sqlite:///b.db", "experiment": "x"}}'
    job, mlflow = requested_job(build_parser().parse_args(["train", "--experiment", "o2f_r50_1x", "--seed", "1",
                                                         "--scale", "ci", "--dag-settings", where]))
    assert job.work_dir == "elsewhere/ci/o2f_r50_1x/seed1" and mlflow["tracking_uri"] == "sqlite:///b.db"


def test_overrides_reach_the_config_as_written(repo_root, monkeypatch):
    """tables.yaml's overrides reach mmengine as written, and so does --overrides JSON on the command line:
    a string with a comma or '=' stays a string, a list a list, a dict a dict (``K=V`` text re-parsed by
    DictAction made "a,b" a list)."""
    import json

    from o2f.pipeline.cli import build_parser
    from o2f.pipeline.config import load_config
    from o2f.pipeline.job import job_config, requested_job

    overrides = {"val_dataloader.dataset.data_prefix.img": "images,extra/",
                 "model.backbone.out_indices": [1, 2, 3],
                 "model.test_cfg.nms": {"type": "nms", "iou_threshold": 0.5},
                 "val_evaluator.ann_file": "data/x=y/val.json"}
    spec = yaml.safe_load((repo_root / "configs/tables.yaml").read_text())
    spec["experiments"]["odd"] = {"config": "configs/o2f/o2f_r50_fpn_1x_coco.py", "overrides": overrides}
    job = Plan(spec, settings(repo_root, scale="ci"), root=repo_root).job("odd", 0)
    monkeypatch.chdir(repo_root)
    typed = build_parser().parse_args(["train", job.config, "--scale", "ci", "--work-dir", "w",
                                       "--overrides", json.dumps(overrides)])
    for cfg in (load_config(job.config, job.scale, job.overrides), job_config(requested_job(typed)[0])):
        assert cfg.val_dataloader.dataset.data_prefix.img == "images,extra/"
        assert cfg.model.backbone.out_indices == [1, 2, 3]
        assert cfg.model.test_cfg.nms.to_dict() == {"type": "nms", "iou_threshold": 0.5}
        assert cfg.val_evaluator.ann_file == "data/x=y/val.json"
        assert cfg.model.test_cfg.max_per_img == 100  # the rest of the dict it overrode is kept


def write_final(work: Path, experiment: str, seed: int, final: dict) -> None:
    write_evidence(work, "demo", experiment, seed, [{"epoch": 12, **final}])


def test_demo_report_cells_show_spread_and_difference_to_the_reference_row(repo_root, tmp_path):
    """At demo scale a cell is mean ± std (n) and its difference to FCOS with NMS, ours and (the paper's)."""
    plan = Plan.from_files(repo_root / "configs/tables.yaml", settings(repo_root, seeds=[0, 1]), root=repo_root)
    write_final(tmp_path, "fcos_r50_1x", 0, {"coco/nms_bbox_mAP": 0.152, "coco/nms_bbox_AR_100": 0.35,
                                              "coco/nonms_bbox_mAP": 0.083, "coco/nonms_bbox_AR_100": 0.30})
    write_final(tmp_path, "fcos_r50_1x", 1, {"coco/nms_bbox_mAP": 0.148, "coco/nms_bbox_AR_100": 0.33,
                                              "coco/nonms_bbox_mAP": 0.081, "coco/nonms_bbox_AR_100": 0.32})
    write_final(tmp_path, "o2f_r50_1x", 0, {"coco/nms_bbox_mAP": 0.15, "coco/nms_bbox_AR_100": 0.4,
                                             "coco/nonms_bbox_mAP": 0.145, "coco/nonms_bbox_AR_100": 0.41})
    frame = table_frame(plan, Results(plan, root=tmp_path), "table5")
    assert list(frame["Method"]) == ["FCOS", "FCOS", "POTO", "POTO+3DMF", *["POTO+3DMF+Aux"] * 3, "Ours-1conv",
                                     "Ours-2convs", "Ours-3convs"]
    assert list(frame["LA"])[4:7] == ["o2o+o2m(ATSS)", "o2o+o2m(Top-k)", "o2o+o2m(FCOS)"]
    assert frame.loc[0, "AP(1x)"] == "15.0 ± 0.3 (n=2); reference"              # mean and std over the two seeds
    assert frame.loc[1, "AP(1x)"] == "8.2 ± 0.1 (n=2); Δ -6.8 (paper -20.9)"    # 8.2 - 15.0; 17.7 - 38.6
    assert frame.loc[9, "AR(1x)"] == "41.0 (n=1); Δ +7.0 (paper +4.0)"          # one seed: no std; 41.0 - 34.0
    assert frame.loc[7, "AP(1x)"] == "not finished"
    assert frame.loc[9, "AP(3x)"] == "not run at this scale"


def _set(spec: dict, path: str, value) -> None:
    """Set (or with value None, delete) the entry at a /-separated path, list indices as numbers."""
    *parents, last = [int(part) if part.isdigit() else part for part in path.split("/")]
    for part in parents:
        spec = spec[part]
    if value is None:
        del spec[last]
    else:
        spec[last] = value


@pytest.mark.parametrize("path, value, expected", [
    ("tabels", {}, "top level: Additional properties are not allowed ('tabels' was unexpected)"),
    ("tables/table2/colums", [], "tables.table2: Additional properties are not allowed ('colums' was unexpected)"),
    ("tables/table1/columns/0/metrc", "bbox_mAP", "tables.table1.columns[0]: Unevaluated properties are not "
                                                  "allowed ('metrc' was unexpected)"),
    ("experiments/o2f_r50_1x/overides", {}, "experiments.o2f_r50_1x: Additional properties are not allowed"),
    ("tables/table4/rows/0/experment", "o2f_r50_1x", "table4: row Add has unknown key 'experment' "
                                                     "(the table's labels: alpha)"),
    ("tables/table1/columns/0/experiment", "no_such_run", "table1: row AP names unknown experiment 'no_such_run'"),
    ("tables/table3/rows/0/experiment_by_column/T_max=0.7", "no_such_run", "unknown experiment 'no_such_run'"),
    ("figures/figure5/curves/0/experiment", "no_such_run", "figure5 names unknown experiment 'no_such_run'"),
    ("tables/table1/cell/metric", None, "table1: row AP, column one-to-one has no metric"),
    ("tables/table5/columns/0/metric", None, "table5: row FCOS, column AP(1x) has no metric"),
])
def test_tables_yaml_is_checked_at_load_in_one_line(repo_root, path, value, expected):
    """An unknown key, an unknown experiment or a cell without a metric stops the plan at load (before
    any job), in one line naming it, whichever table it is in."""
    spec = yaml.safe_load((repo_root / "configs/tables.yaml").read_text())
    _set(spec, path, value)
    with pytest.raises(O2FError) as err:
        Plan(spec, settings(repo_root), root=repo_root)
    assert expected in str(err.value) and "\n" not in str(err.value), str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", sorted(yaml.safe_load(
    (Path(__file__).resolve().parent.parent / "configs/tables.yaml").read_text())["experiments"]))
def test_every_experiment_of_the_tables_builds(repo_root, experiment):
    """Each experiment's config and overrides load (keys exist) and its model builds, at ci scale."""
    from mmdet.registry import MODELS

    import o2f.plugin  # noqa: F401
    from o2f.pipeline.config import innermost_dataset, load_config
    from o2f.pipeline.layout import Layout, config_family

    spec = yaml.safe_load((repo_root / "configs/tables.yaml").read_text())["experiments"][experiment]
    cfg = load_config(repo_root / spec["config"], "ci", spec.get("overrides"))
    MODELS.build(cfg.model)
    # the config's family (its folder) picks the data root the DAG prepares and every loader reads
    root = Layout.from_settings_file("ci", repo_root).data_root(config_family(repo_root / spec["config"]))
    for split in ("train", "val", "test"):
        assert innermost_dataset(cfg[f"{split}_dataloader"]).data_root == f"{root}/"


@pytest.mark.slow
def test_a_demo_scale_keeps_the_backbone_a_table_varies(repo_root, monkeypatch):
    """Table 6's ResNet-101 trains a deeper ResNet than Table 5's at demo scale, Table 7's Swin-T a small Swin
    transformer (the neck's inputs unchanged); both build and run a demo-sized batch."""
    import torch
    from mmdet.registry import MODELS

    import o2f.plugin  # noqa: F401
    from o2f.pipeline.config import load_config

    monkeypatch.chdir(repo_root)
    backbones = {name: load_config(config, "demo").model.backbone for name, config in
                 (("r50", "configs/o2f/o2f_r50_fpn_1x_coco.py"), ("r101", "configs/fcos/fcos_r101_fpn_1x_coco.py"),
                  ("swin", "configs/o2f/o2f_swin-t_fpn_1x_coco.py"))}
    assert (backbones["r50"].type, backbones["r50"].depth) == ("ChannelsLastResNet", 18)
    assert (backbones["r101"].type, backbones["r101"].depth, backbones["r101"].base_channels) == (
        "ChannelsLastResNet", 34, 32)
    assert (backbones["swin"].type, backbones["swin"].embed_dims, backbones["swin"].init_cfg) == (
        "SwinTransformer", 32, None)
    for name in ("r101", "swin"):
        outputs = MODELS.build(backbones[name])(torch.zeros(1, 3, 256, 256))
        assert [o.shape[1] for o in outputs] == [32, 64, 128, 256] and outputs[-1].shape[-1] == 8, name


@pytest.mark.slow
def test_two_names_for_one_trained_model_stop_the_plan(repo_root, tmp_path, monkeypatch):
    from o2f.pipeline.config import check_distinct_experiments

    work = project_copy(repo_root, tmp_path / "twice", own_tables=True)
    spec = yaml.safe_load((work / "configs/tables.yaml").read_text())
    spec["experiments"]["ours_again"] = spec["experiments"]["o2f_r50_1x"]
    spec["experiments"]["ours_plain_loop"] = {  # mmengine's loop trains what the prefetching one does
        "config": "configs/o2f/o2f_r50_fpn_1x_coco.py", "overrides": {"train_cfg.type": "EpochBasedTrainLoop"}}
    spec["experiments"]["add_score_only"] = {  # Eq. 1's "add" at alpha 0 is "multiply" at alpha 0: the score
        "config": "configs/o2f/o2f_r50_fpn_1x_coco.py",
        "overrides": {"model.train_cfg.assigner.combine": "add", "model.train_cfg.assigner.alpha": 0}}
    for name, experiments in {"backbones": ["fcos_r50_1x", "fcos_r101_1x", "fcos_swin-t_1x"],
                              "again": ["o2f_r50_1x", "ours_again"], "loop": ["o2f_r50_1x", "ours_plain_loop"],
                              "eq1": ["o2f_r50_1x_multiply_a0", "add_score_only", "o2f_r50_1x_add_a0.6"]}.items():
        spec["tables"][name] = {"title": name, "cell": {"metric": "bbox_mAP", "nms": False}, "rows": [{"name": "AP"}],
                                "columns": [{"name": e, "experiment": e} for e in experiments]}
    write_tables(work, spec)
    monkeypatch.chdir(work)

    def plan(scale, table):
        return Plan.from_files(work / "configs/tables.yaml", settings(repo_root, scale=scale, tables=[table]), work)

    cache = work / ".snakemake/digests.json"
    check_distinct_experiments(plan("demo", "backbones"), cache)  # the demo's stand-ins keep them apart
    with pytest.raises(O2FError) as err:
        check_distinct_experiments(plan("ci", "again"), cache)
    assert "experiments o2f_r50_1x and ours_again train the same model" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(O2FError) as err:
        check_distinct_experiments(plan("ci", "eq1"), cache)  # Add at alpha 0.6 is its own function: not named
    assert "experiments o2f_r50_1x_multiply_a0 and add_score_only train the same model" in str(err.value)
    with pytest.raises(O2FError, match="experiments o2f_r50_1x and ours_plain_loop train the same model"):
        check_distinct_experiments(plan("demo", "loop"), cache)

    check_distinct_experiments(plan("demo", "backbones"), cache)  # the cache answers for the rule that wrote it
    stored = json.loads(cache.read_text())
    one_digest = {key: {**entry, "digest": "one"} for key, entry in stored["digests"].items()}
    cache.write_text(json.dumps({**stored, "digests": one_digest}))
    with pytest.raises(O2FError, match="train the same model"):
        check_distinct_experiments(plan("demo", "backbones"), cache)
    cache.write_text(json.dumps({**stored, "rule": "an older rule", "digests": one_digest}))
    check_distinct_experiments(plan("demo", "backbones"), cache)  # recomputed, not read
    # the classes come from the data's annotation file: a digest taken before it changed is recomputed
    stored = json.loads(cache.read_text())
    assert all(entry["annotations"][0].endswith(".json") for entry in stored["digests"].values())
    same = {key: {**entry, "digest": "one"} for key, entry in stored["digests"].items()}
    cache.write_text(json.dumps({**stored, "digests": same}))
    with pytest.raises(O2FError, match="train the same model"):
        check_distinct_experiments(plan("demo", "backbones"), cache)
    older = {key: {**entry, "annotations": [entry["annotations"][0], 1, 1]} for key, entry in same.items()}
    cache.write_text(json.dumps({**stored, "digests": older}))
    check_distinct_experiments(plan("demo", "backbones"), cache)  # recomputed, not read


def test_a_claims_seed_without_all_its_runs_on_one_kind_trains_them_all_here(repo_root, tmp_path):
    """Claim 20 pairs the main run with T_max = 0.4 seed by seed. With the main run's seed 1 on another kind
    and T_max = 0.4 on none, the DAG trains both of seed 1 here (a run of that kind cannot be made here) and
    leaves the other kind's run where it is; with both on that kind, it trains nothing for seed 1."""
    from o2f.run_kinds import kind_folder

    work = project_copy(repo_root, tmp_path / "kinds")
    config = ["--config", "scale=demo", "tables=[claims]", "claims=['20']", "seeds=[1]"]
    plan = Plan.from_files(work / "configs/tables.yaml",
                           settings(repo_root, scale="demo", seeds=[1], tables=["claims"], claims=["20"]), work)
    pair, other = ("o2f_r50_1x", "o2f_r50_1x_tmax0.4_tmin0.2"), "Other CPU, AVX512-BF16; bf16"
    main_run = write_evidence(work, "demo", pair[0], 1, [], kind=other)
    here = {e: plan.kinds.here(e, 1) for e in pair}
    assert kind_folder(other) not in here.values()  # this machine is not the other kind
    assert set(plan.claim_evidence_files()) >= {plan.evidence_file(e, 1, here[e]) for e in pair}
    done = snakemake(work, "-n", "claims", *config)
    assert job_counts(done.stdout)["train"] == 2 and f"experiment={pair[0]}" in done.stdout, done.stdout[-2000:]
    write_evidence(work, "demo", pair[1], 1, [], kind=other)
    plan = Plan.from_files(work / "configs/tables.yaml", plan.settings, work)
    assert set(plan.claim_evidence_files()) == {plan.evidence_file(e, 1, kind_folder(other)) for e in pair}
    done = snakemake(work, "-n", "claims", *config)
    assert "train" not in job_counts(done.stdout), done.stdout[-2000:]
    assert main_run.exists()
    # a run finished in its work dir: the DAG plans its evidence, a report reads only evidence that is there
    metrics = work / plan.metrics_file(pair[1], 1)
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"epochs": [], "device": "CPU (Third CPU, AVX2, 2 cores)", "precision": "fp32"}))
    plan = Plan.from_files(work / "configs/tables.yaml", plan.settings, work)
    assert "third-cpu-avx2_fp32" in plan.kinds.usable(pair[1], 1)
    assert "third-cpu-avx2_fp32" not in Results(plan, root=work).evidence_kinds.usable(pair[1], 1)
    metrics.unlink()
    # a cluster's nodes train on the kind the scale's settings name, not this machine's
    nodes = settings(repo_root, scale="demo", seeds=[1], tables=["claims"], claims=["20"])
    nodes["scales"]["demo"]["train"]["kind"] = "nodes-gpu_fp32"
    assert Plan.from_files(work / "configs/tables.yaml", nodes, work).kinds.here(pair[1], 1) == "nodes-gpu_fp32"
    # evidence of an older spec stands for nothing: the run trains again
    write_evidence(work, "demo", pair[1], 1, [], kind=other, overrides={"optim_wrapper.optimizer.lr": 0.5})
    plan = Plan.from_files(work / "configs/tables.yaml", plan.settings, work)
    assert plan.kinds.usable(pair[1], 1) == ()


def test_a_table_reads_each_seed_from_one_kind(repo_root, tmp_path):
    """The Hybrid-Epoch table's difference to one-to-few is a comparison: at a seed, a table reads every run
    from the first kind that has them all, even where the kind with the most evidence has one of them; where
    no kind has them all, the DAG trains them all here."""
    from o2f.run_kinds import kind_folder

    work = project_copy(repo_root, tmp_path / "kinds")
    plan = Plan.from_files(work / "configs/tables.yaml", settings(repo_root, scale="demo", seeds=[1]), work)
    rows, other = ("hybrid-epoch_r50_1x", "o2f_r50_1x", "progloss_r50_1x"), "Other CPU, AVX512-BF16; bf16"
    assert plan.experiments_for(["hybrid_epoch"]) == list(rows)

    def ap(value: float) -> list[dict]:
        return [{"epoch": 1, "coco/nonms_bbox_mAP": value}]

    for experiment in ("fcos_r50_1x", "poto_r50_1x", "poto-3dmf_r50_1x", "o2f_r50_1x"):  # the most evidence
        write_evidence(work, "demo", experiment, 1, ap(0.30))
    write_evidence(work, "demo", "hybrid-epoch_r50_1x", 1, ap(0.12), kind=other)
    write_evidence(work, "demo", "o2f_r50_1x", 1, ap(0.15), kind=other)
    plan = Plan.from_files(work / "configs/tables.yaml", plan.settings, work)
    assert plan.kinds.order[0] == kind_folder(TEST_KIND)
    here = {e: plan.kinds.here(e, 1) for e in rows}
    assert kind_folder(other) not in here.values()  # this machine is not the other kind
    # neither kind has all three at seed 1: all three train here
    assert plan.evidence_files("hybrid_epoch") == [plan.evidence_file(e, 1, here[e]) for e in rows]
    write_evidence(work, "demo", "progloss_r50_1x", 1, ap(0.13), kind=other)
    plan = Plan.from_files(work / "configs/tables.yaml", plan.settings, work)
    assert plan.kinds.order[0] == kind_folder(TEST_KIND)
    assert plan.evidence_files("hybrid_epoch") == [plan.evidence_file(e, 1, kind_folder(other)) for e in rows]
    results = Results(plan, root=work)
    assert results.seed_values("o2f_r50_1x", "bbox_mAP", False) == {1: pytest.approx(30.0)}  # first kind with it
    table = results.for_report("hybrid_epoch")
    assert table.seed_values("o2f_r50_1x", "bbox_mAP", False) == {1: pytest.approx(15.0)}
    frame = table_frame(plan, table, "hybrid_epoch")
    assert frame.loc[0, "AP(1x)"].startswith("12.0 (n=1); Δ -3.0")  # 12.0 - 15.0, both of the other kind


def test_the_kind_of_a_training_here_keeps_a_resumed_runs_precision(tmp_path):
    """A run resumes in the precision it started in, whatever its setting picks on this machine."""
    from o2f.engine.device import device_name
    from o2f.pipeline.evidence_kinds import kind_here
    from o2f.run_kinds import run_kind

    assert kind_here("fp32", tmp_path) == run_kind(device_name(), "fp32")
    (tmp_path / "precision").write_text("bf16\nthis CPU runs bf16 natively\n")
    assert kind_here("fp32", tmp_path) == run_kind(device_name(), "bf16")


def test_evidence_of_a_run_goes_to_the_kind_it_ran_on(repo_root, tmp_path):
    """``o2f evidence --kind K`` for a run that ran on another kind stops in one line naming both."""
    work = project_copy(repo_root, tmp_path / "evidence_kind")
    metrics = work / "work_dirs/demo/o2f_r50_1x/seed0/final_metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(json.dumps({"epochs": [], "device": "CPU (Test CPU, AMX-BF16, 2 cores)", "precision": "bf16"}))
    done = subprocess.run([sys.executable, "-m", "o2f.pipeline.cli", "evidence", "--experiment", "o2f_r50_1x",
                           "--seed", "0", "--scale", "demo", "--kind", "other-cpu_fp32"],
                          cwd=work, capture_output=True, text=True)
    assert done.returncode != 0
    assert done.stderr.strip() == ("o2f: error: o2f_r50_1x seed 0 in work_dirs/demo/o2f_r50_1x/seed0 ran on "
                                   "test-cpu-amx-bf16_bf16, not other-cpu_fp32: its evidence goes to "
                                   "evidence/demo/o2f_r50_1x/test-cpu-amx-bf16_bf16/seed0; where trainings run on "
                                   "other machines than the DAG (a cluster's nodes), set scales.demo.train.kind: "
                                   "test-cpu-amx-bf16_bf16 in configs/pipeline.yaml")
