"""The cluster path for real: the tiny DAG through the project's slurm profile on a one-node Slurm cluster."""

from __future__ import annotations

import os
import re

import pytest
from dag import (
    TINY,
    TINY_EXPERIMENTS,
    VENV_BIN,
    activated_env,
    local_tiny_run,
    project_copy,
    results,
    snakemake,
    tiny_copy,
)
from slurm_local import PACKAGES, LocalSlurm, clear_stale_node_cache, missing_tools, slurmd_runs

# A Slurm cluster started for the module, Snakemake runs on it. Its own xdist group, so the module's tests run
# one after another and the cluster starts once (in a group shared with other modules pytest tore the module
# fixture down between them and the second start met the first node's configuration cache); the test comparing
# to the tiny run trains that run on this worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("slurm")]

PROFILE = ["--profile", "workflow/profiles/slurm"]
# The plugin's first status check waits 40 s and Snakemake polls every 10 s by default, a sensible pace on
# a busy cluster; not here, where each layer of the DAG would wait for the next poll.
QUICK_POLL = ["--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1"]
SLURM_RULES = {"data_synthetic_shapes", "train", "evidence", "table", "figure", "claims_report", "index",
               "reproduction"}


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """munged, slurmctld and slurmd of a one-node cluster, stopped after this module's tests."""
    missing = missing_tools()
    if missing:
        pytest.skip(f"Slurm is not installed here ({', '.join(missing)} missing; `apt-get install {PACKAGES}`, "
                    "which .ci/run does where it can)")
    if os.geteuid() != 0:
        pytest.skip("starting slurmd and munged by hand needs root")
    with LocalSlurm(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


def slurm_jobs(output: str) -> dict[str, str]:
    """{Snakemake job id: Slurm job id} of every job the run submitted."""
    return dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output))


def finished_rules(output: str) -> dict[str, str]:
    """{Snakemake job id: rule} of every job that finished."""
    return dict(re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", output))


def test_jobs_get_the_callers_environment(slurm, tmp_path):
    """sbatch exports the caller's environment: a job finds the project's .venv first on PATH."""
    out = tmp_path / "job.out"
    slurm.run("sbatch", "--wait", "--mem=100", f"--output={out}", "--wrap", "command -v python; command -v snakemake",
              env=activated_env())
    assert out.read_text().split() == [f"{VENV_BIN}/python", f"{VENV_BIN}/snakemake"]


def test_tiny_dag_runs_every_rule_as_a_slurm_job_and_reports_as_the_local_executor(slurm, repo_root, tmp_path,
                                                                                  tmp_path_factory):
    work = tiny_copy(repo_root, tmp_path / "slurm")
    done = snakemake(work, *PROFILE, *QUICK_POLL, *TINY, env=activated_env(slurm.env()))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]

    submitted, finished = slurm_jobs(output), finished_rules(output)
    assert {finished[job] for job in submitted} == SLURM_RULES
    assert set(finished) - set(submitted) == {job for job, rule in finished.items() if rule == "all"}
    assert sorted(finished[job] for job in submitted).count("train") == len(TINY_EXPERIMENTS)
    states = slurm.jobs()
    assert {states[slurm_id][1] for slurm_id in submitted.values()} == {"COMPLETED"}

    local = local_tiny_run(repo_root, tmp_path_factory)
    assert local.done.returncode == 0, local.done.stderr[-3000:]
    ours = results(work)
    # the table, the claims, the reproduction note, the runs
    assert sorted(ours) == sorted(local.results) and len(ours) == 3 + 2 + 1 + len(TINY_EXPERIMENTS)
    for path, content in local.results.items():
        assert ours[path] == content, f"{path} differs between the Slurm and the local run"
    assert (work / "reports/ci/figure5.png").exists() and (work / "reports/ci/index.html").exists()


def test_a_job_failing_inside_slurm_fails_the_dag_with_its_slurm_job_id(slurm, repo_root, tmp_path, synthetic_root):
    import shutil

    work = project_copy(repo_root, tmp_path / "failing")
    data = work / "data" / "synthetic_shapes"
    shutil.copytree(synthetic_root, data)  # the data is there, with one image that does not decode:
    (data / "images" / "train_0005.png").write_bytes(b"\x89PNG truncated")  # each training stops in its job
    done = snakemake(work, *PROFILE, *QUICK_POLL, "--config", "scale=ci", "tables=[figure5]",
                     env=activated_env(slurm.env()))
    output = done.stdout + done.stderr
    assert done.returncode != 0

    submitted = slurm_jobs(output)
    assert submitted, output[-3000:]
    failed = [slurm_id for slurm_id in submitted.values() if slurm.jobs()[slurm_id][1] == "FAILED"]
    assert failed and len(failed) == len(submitted), slurm.jobs()  # the trainings, nothing after them
    assert "Error in rule train:" in output and "Exiting because a job execution failed" in output
    assert f"SLURM-job '{failed[0]}' failed" in output and f"external_jobid: {failed[0]}" in output
    # the job's own log, shown by the profile's show-failed-logs, names the problem
    assert "o2f: error: image" in output and "train_0005.png does not decode" in output
    assert "rule index:" not in output


def fake_process(proc, pid: int, name: str, state: str) -> None:
    (proc / str(pid)).mkdir(parents=True)
    (proc / str(pid) / "stat").write_text(f"{pid} ({name}) {state} 1 {pid} {pid} 0 -1\n")


def test_a_node_cache_left_by_a_killed_cluster_is_cleared_and_a_live_ones_kept(tmp_path):
    proc, spool = tmp_path / "proc", tmp_path / "spool"
    spool.mkdir()
    fake_process(proc, 7, "munged", "S")
    fake_process(proc, 8, "slurm d)", "S")  # a name with a parenthesis is not slurmd
    fake_process(proc, 9, "slurmd", "Z")  # ended, not yet reaped
    link = tmp_path / "conf"
    link.symlink_to(spool)
    assert not slurmd_runs(proc)
    clear_stale_node_cache(link, proc)  # its spool is still on disk, but no slurmd keeps it
    assert not link.is_symlink()

    fake_process(proc, 10, "slurmd", "S")
    assert slurmd_runs(proc)
    link.symlink_to(spool)
    clear_stale_node_cache(link, proc)
    assert link.is_symlink()
    link.unlink()
    link.symlink_to(tmp_path / "gone")  # a running slurmd's cache is never dangling: another's, stale
    clear_stale_node_cache(link, proc)
    assert not link.is_symlink()
