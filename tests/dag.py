"""Running the DAG from tests: a linked working copy, Snakemake, its job stats, the tiny ci-scale run."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
REPO = Path(__file__).resolve().parents[1]
VENV_BIN = str(Path(sys.executable).parent)
# The tiny DAG: Hybrid-Epoch's table (its paper rows, see tiny_copy) and Figure 5 at the ci scale, 2 trainings
# of 2 epochs: the rules of a campaign (data, train, evidence, table, figure, claims, index, reproduction).
TINY = ["--config", "scale=ci", "tables=[hybrid_epoch,figure5]"]
TINY_EXPERIMENTS = ["o2f_r50_1x", "poto_r50_1x"]
# The suite runs on two pytest-xdist workers; the tests reading the one tiny run (local_tiny_run) share one,
# so it trains once.
SHARES_TINY_RUN = pytest.mark.xdist_group("tiny_dag")


def settings(repo_root, **changes) -> dict:
    return {**yaml.safe_load((repo_root / "configs/pipeline.yaml").read_text()), **changes}


def project_copy(repo_root: Path, where: Path, own_tables: bool = False, settings: dict | None = None) -> Path:
    """A working directory with the DAG's files linked in, so runs never touch the repository;
    ``own_tables``: configs/tables.yaml is a copy the test may edit; ``settings``: configs/pipeline.yaml
    is written from them (the rest of configs/ stays linked)."""
    own = (["tables.yaml"] if own_tables else []) + (["pipeline.yaml"] if settings is not None else [])
    where.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", *([] if own else ["configs"])):
        (where / name).symlink_to(repo_root / name)
    if own:
        (where / "configs").mkdir()
        for path in (repo_root / "configs").iterdir():
            if path.name not in own:
                (where / "configs" / path.name).symlink_to(path)
    if own_tables:
        write_tables(where, yaml.safe_load((repo_root / "configs/tables.yaml").read_text()))
    if settings is not None:
        (where / "configs/pipeline.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return where


def tiny_copy(repo_root: Path, where: Path) -> Path:
    """A working directory for the tiny DAG: Hybrid-Epoch's table keeps the rows with a paper value, and the
    claims reading the dropped rows go with them; its Hybrid-Epoch row reads POTO's run, which Figure 5
    trains anyway, so the table (a row with its difference to the reference row) and the claim on it cost no
    training of their own (Hybrid-Epoch's assigner switch has its unit test)."""
    work = project_copy(repo_root, where, own_tables=True)
    spec = yaml.safe_load((work / "configs/tables.yaml").read_text())
    table = spec["tables"]["hybrid_epoch"]
    dropped = {row["name"] for row in table["rows"] if "paper" not in row}
    table["rows"] = [row for row in table["rows"] if row["name"] not in dropped]
    next(row for row in table["rows"] if row["name"] == "Hybrid-Epoch")["experiments"]["1x"] = "poto_r50_1x"
    spec["claims"] = [claim for claim in spec["claims"]
                      if not any(cell.get("row") in dropped for cell in claim["cells"].values())]
    write_tables(work, spec)
    return work


TEST_KIND = "Test CPU, AMX-BF16; bf16"


def evidence_path(work: Path, scale: str, experiment: str, seed: int, kind: str = TEST_KIND) -> Path:
    """Where a run's evidence is (``evidence/<scale>/<experiment>/<kind folder>/seed<k>/run.json``)."""
    from o2f.run_kinds import kind_folder

    return work / "evidence" / scale / experiment / kind_folder(kind) / f"seed{seed}" / "run.json"


def experiment_spec(work: Path, experiment: str) -> dict:
    """The experiment's present spec in the working copy's configs/tables.yaml (else the repository's): what a
    run's record must name for the reports to read it."""
    tables = work / "configs/tables.yaml"
    spec = yaml.safe_load((tables if tables.exists() else REPO / "configs/tables.yaml").read_text())
    found = spec["experiments"].get(experiment)
    return {"config": found["config"], "overrides": found.get("overrides") or {}} if found else {}


def write_evidence(work: Path, scale: str, experiment: str, seed: int, epochs: list[dict], **fields) -> Path:
    """A finished run's evidence as the reports read it: per-epoch metrics (fractions, as the evaluator logs
    them), of the experiment's present spec on one CPU kind unless ``fields`` names others."""
    import json

    run = {"experiment": experiment, "seed": seed, "scale": scale, "epochs": epochs, "losses": [],
           "device": "CPU (Test CPU, AMX-BF16, 2 cores)", "kind": TEST_KIND, **experiment_spec(work, experiment),
           **fields}
    path = evidence_path(work, scale, experiment, seed, run["kind"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run))
    return path


def write_tables(work: Path, spec: dict) -> None:
    (work / "configs/tables.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def fake_finished_dag(work: Path, *args: str) -> None:
    """Every job of the DAG as finished, recorded by Snakemake as its own (a forced ``--touch`` writes
    each job's metadata: params, code, inputs) over empty outputs; nothing runs."""
    summary = snakemake(work, "--summary", *args)
    assert summary.returncode == 0, summary.stderr[-2000:]
    for line in summary.stdout.splitlines():
        path, *fields = line.split("\t")
        if fields and path != "output_file" and not (work / path).exists():
            (work / path).parent.mkdir(parents=True, exist_ok=True)
            (work / path).touch()
    done = snakemake(work, "--touch", "--forceall", "--cores", "1", *args)
    assert done.returncode == 0, done.stderr[-2000:]


def activated_env(env: dict | None = None) -> dict:
    """The environment with the project's .venv/bin first on PATH, as after activating it."""
    env = dict(os.environ if env is None else env)
    env["PATH"] = os.pathsep.join([VENV_BIN, env.get("PATH", "")])
    return env


def snakemake(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, env=env)


def job_counts(output: str) -> dict[str, int]:
    """The "Job stats" block of a Snakemake plan as {rule: count}; {} for "Nothing to be done"."""
    if "Job stats:" not in output and "Nothing to be done" in output:
        return {}
    block = output.split("Job stats:")[1].split("\n\n")[0].splitlines()[3:]
    return {rule: int(count) for rule, count in (line.split() for line in block) if rule != "total"}


def results(work: Path, scale: str = "ci") -> dict[str, bytes]:
    """What a run produced that must not depend on how its jobs ran: tables and final metrics."""
    reports = work / "reports" / scale
    found = [*reports.glob("*.csv"), *reports.glob("*.md"), *reports.glob("*.tex"),
             *(work / "work_dirs" / scale).glob("*/seed*/final_metrics.json")]
    return {str(path.relative_to(work)): path.read_bytes() for path in sorted(found)}


@dataclass
class DagRun:
    work: Path
    done: subprocess.CompletedProcess
    results: dict[str, bytes]  # as written by the run, before any test changed the work dir


_LOCAL: dict[str, DagRun] = {}


def local_tiny_run(repo_root: Path, tmp_path_factory) -> DagRun:
    """The tiny DAG with the local executor on 2 cores, run once per test session."""
    if "tiny" not in _LOCAL:
        work = tiny_copy(repo_root, tmp_path_factory.mktemp("tiny_local"))
        done = snakemake(work, "--cores", "2", *TINY)
        _LOCAL["tiny"] = DagRun(work, done, results(work))
    return _LOCAL["tiny"]
