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


def test_the_schedule_starts_with_data_spreads_its_kills_and_keeps_its_last_for_phases_not_hit(repo_root):
    import random

    chaos = chaos_driver(repo_root)
    schedule = chaos.Schedule(random.Random(0), chaos.PHASES, mean_gap_s=30.0)
    assert schedule.pick({"snakemake"}, kills_left=20, waited_s=1.0) is None  # data is waited for
    assert schedule.pick({"data", "snakemake"}, kills_left=20, waited_s=1.0) == "data"
    schedule.hit("data", now=100.0)
    assert 100.0 <= schedule.next_at <= 160.0
    for phase in ("step", "checkpoint", "validation", "evidence", "snakemake"):
        schedule.hit(phase, now=100.0)
    # two kills left, two phases never hit: only they will do, however long they take to come
    assert schedule.pick({"step", "snakemake"}, kills_left=2, waited_s=1e6) is None
    assert schedule.pick({"step", "speed"}, kills_left=2, waited_s=0.0) == "speed"
    # more kills left: the phases hit least first, any running one after PATIENCE_S
    assert schedule.pick({"step", "snakemake"}, kills_left=10, waited_s=1.0) is None
    assert schedule.pick({"step", "report"}, kills_left=10, waited_s=1.0) == "report"
    schedule.hit("step", now=100.0)  # step 2 hits, snakemake 1: among the running, the one hit least
    assert schedule.pick({"step", "snakemake"}, kills_left=10, waited_s=chaos.PATIENCE_S + 1) == "snakemake"


def test_data_ready_before_the_first_kill_is_not_waited_for(repo_root):
    import random

    chaos = chaos_driver(repo_root)
    schedule = chaos.Schedule(random.Random(0), ("data", "step", "snakemake"))
    assert schedule.pick({"step", "snakemake"}, kills_left=3, waited_s=chaos.PATIENCE_S + 1) in {"step", "snakemake"}
    schedule.hit("step", now=0.0)
    # two kills left, two phases never hit, but data will not come again: snakemake, not a wait for data
    assert schedule.pick({"step", "snakemake"}, kills_left=2, waited_s=0.0) == "snakemake"


def test_a_training_running_ends_the_wait_for_data_and_the_phase_first_in_the_dag_goes_first(repo_root):
    import random

    chaos = chaos_driver(repo_root)
    schedule = chaos.Schedule(random.Random(0), ("data", "step", "snakemake"))
    assert schedule.pick({"snakemake"}, kills_left=3, waited_s=1.0) is None  # data may still come
    # a training runs: its data were prepared unseen; the step may end before Snakemake does
    assert schedule.pick({"step", "snakemake"}, kills_left=3, waited_s=1.0) == "step"
    schedule.hit("step", now=0.0)
    assert schedule.pick({"step", "snakemake"}, kills_left=2, waited_s=1.0) == "snakemake"
    schedule.hit("snakemake", now=0.0)
    # every phase still to come hit once: the data gone do not hold the third kill back for PATIENCE_S
    assert schedule.pick({"step", "snakemake"}, kills_left=1, waited_s=1.0) == "step"


def test_the_outcome_check_masks_timings_and_the_rows_of_claims_on_speed(repo_root):
    chaos = chaos_driver(repo_root)
    md = "| id | ours |\n|:--|:--|\n| 5 | {five} |\n| 31 | {speed} |\n\n* claim 31: ours {speed} %\n"
    same = chaos.without_timings(md.format(five="2.0", speed="+0.3"), ".md", set(), {"31"})
    assert same == chaos.without_timings(md.format(five="2.0", speed="-4.1"), ".md", set(), {"31"})
    assert same != chaos.without_timings(md.format(five="2.1", speed="+0.3"), ".md", set(), {"31"})
    html = ("<p>{note}</p><table><tr><th>Method</th><th>FPS</th></tr>\n"
            "<tr>\n<td>FCOS</td>\n<td>{fps}</td>\n</tr></table>")
    masked = chaos.without_timings(html.format(note="a", fps="30.1"), ".html", {"FPS"})
    assert masked == chaos.without_timings(html.format(note="a", fps="27.9"), ".html", {"FPS"})  # a row over lines
    assert masked != chaos.without_timings(html.format(note="b", fps="30.1"), ".html", {"FPS"})
