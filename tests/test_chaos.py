"""The whole DAG under random kills (benchmarks/chaos_dag.py, whose long variant covers every table): the short
variant, three kills on the tiny DAG, ends as the uninterrupted tiny run did."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from dag import SHARES_TINY_RUN, TINY, local_tiny_run, results, tiny_copy

SEED = 0  # the kills' moments, phases and signals; printed on failure, so a failure replays


def chaos_driver(repo_root):
    spec = importlib.util.spec_from_file_location("chaos_dag", repo_root / "benchmarks" / "chaos_dag.py")
    module = sys.modules.setdefault("chaos_dag", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@SHARES_TINY_RUN
def test_three_random_kills_end_as_the_uninterrupted_run(repo_root, tmp_path_factory, tmp_path):
    chaos = chaos_driver(repo_root)
    reference = local_tiny_run(repo_root, tmp_path_factory)
    assert reference.done.returncode == 0, reference.done.stderr[-3000:]
    work = tiny_copy(repo_root, tmp_path / "chaos")
    # Phases the tiny DAG is in for most of its run; the brief ones (a ci checkpoint write or validation lasts
    # a few hundred milliseconds) and the late ones are the long variant's (benchmarks/chaos_dag.py).
    phases = ("data", "step", "snakemake")
    log = chaos.chaos_run(work, TINY, kills=3, seed=SEED, phases=phases)

    assert len(log.kills) == 3, f"seed {SEED}: {log}"
    assert log.restarts >= 1
    assert results(work) == reference.results, f"seed {SEED}: {log}"  # reports and per-epoch metrics, every byte
    assert chaos.tracking_problems(work) == [], f"seed {SEED}: {log}"
    assert chaos.leftovers(work) == [], f"seed {SEED}: {log}"


def test_the_schedule_starts_with_data_and_keeps_its_last_kills_for_phases_not_hit(repo_root):
    import random

    chaos = chaos_driver(repo_root)
    schedule = chaos.Schedule(random.Random(0), chaos.PHASES)
    assert schedule.next(kills_left=20) == "data"
    for phase in ("data", "step", "checkpoint", "validation", "evidence", "snakemake"):
        schedule.hits[phase] += 1
    assert {schedule.next(kills_left=2) for _ in range(20)} == {"speed", "report"}
    schedule.miss("speed")  # not seen in time: the other unhit phase first
    assert schedule.next(kills_left=2) == "report"
    schedule.hits["report"] += 1
    assert {schedule.next(kills_left=10) for _ in range(100)} == set(chaos.PHASES)  # all hit or missed once
