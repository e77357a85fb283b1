"""Chaos run of the whole DAG: kills at random moments, restarts as a user would, then the outcome against an
uninterrupted run's.

    .venv/bin/python benchmarks/chaos_dag.py [--kills 20] [--seed 0] [--scale ci] [--tables all] [--out DIR]

It trains the DAG once uninterrupted (the reference), then again under faults: at moments drawn from
``--seed`` it kills either Snakemake itself or one of its jobs, in a phase chosen so the kills spread over
every kind of work (data preparation; a training's steps, checkpoint writes and validation; evidence; speed;
reports), with SIGKILL or with SIGTERM then SIGKILL as a scheduler does, and restarts Snakemake with
``--rerun-incomplete`` (after ``--unlock`` and after the orphans of a killed Snakemake have ended, as on a
workstation) until a run ends cleanly. Then every report must equal the reference's byte for byte (speed
columns aside: timings), every run's per-epoch metrics to the last digit, the MLflow store hold one FINISHED
run per experiment and seed with no metric step logged twice, and no lock or process be left. Exit status 1
on any difference; the seed is printed first, so a failure replays.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from o2f.engine.resume import complete
from o2f.pipeline.work_dir_lock import pid_alive
from o2f.work_dir import EPOCH_METRICS, FINAL_METRICS

ROOT = Path(__file__).resolve().parent.parent
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
PHASES = ("data", "step", "checkpoint", "validation", "evidence", "speed", "report", "snakemake")  # DAG order
TRAINING_PHASES = {"step", "checkpoint", "validation"}  # a training runs on data already prepared
# How long a phase may go on before its kill: a random moment within it, not its first instant.
# (A ci validation or checkpoint write lasts a few hundred milliseconds.)
PHASE_SPREAD_S = {"data": 0.5, "step": 4.0, "checkpoint": 0.0, "validation": 0.05, "evidence": 1.0, "speed": 2.0,
                  "report": 0.5, "snakemake": 8.0}
PATIENCE_S = 30.0  # a phase not running for this long waits for a later turn
# mmengine logs training's and validation's timings under one name at one step: not a step logged twice.
TIMINGS = {"time", "data_time"}
TERM_GRACE_S = 3.0  # a scheduler's wait between SIGTERM and SIGKILL
POLL_S = 0.02


@dataclass
class Kill:
    phase: str
    signal: str  # "KILL" or "TERM+KILL"
    target: str  # what was killed, in words
    after_s: float  # since the chaos run began


@dataclass
class ChaosLog:
    seed: int
    kills: list[Kill] = field(default_factory=list)
    restarts: int = 0
    wall_s: float = 0.0

    def by_phase(self) -> dict[str, int]:
        return dict(Counter(kill.phase for kill in self.kills))


def project_copy(where: Path) -> Path:
    """A working directory with the DAG's files linked in, so a run never touches the repository."""
    where.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "workflow", "configs"):
        if not (where / name).exists():
            (where / name).symlink_to(ROOT / name)
    return where


# --- what is running -------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (the kernel lists a child under the thread that started it)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:  # a process may end between two reads of /proc
            tasks = list(Path(f"/proc/{parent}/task").glob("*"))
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except OSError:
                continue
            found += kids
            todo += kids
    return found


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def job_kind(cmd: str) -> str | None:
    """The kind of DAG job a process runs (its Python process, not the shell around it), or None."""
    if not cmd or Path(cmd.split()[0]).name in ("sh", "bash", "dash"):  # the shell around a job
        return None
    found = re.search(r"-m o2f\.pipeline\.cli (prepare-data|train|evidence|speed)\b", cmd)
    if found:
        return {"prepare-data": "data", "train": "train"}.get(found[1], found[1])
    return "report" if ".snakemake/scripts/" in cmd else None


def training_phase(work: Path, pid: int) -> str:
    """What a training is doing now, read from its work dir: writing a checkpoint, validating, or a step."""
    try:  # the files may change while they are read (a metrics line half written, a checkpoint replaced)
        return read_training_phase(work, pid)
    except (OSError, ValueError):
        return "step"


def read_training_phase(work: Path, pid: int) -> str:
    work_dir = training_work_dir(work, command_line(pid))
    if work_dir is None:
        return "step"
    checkpoints = sorted(work_dir.glob("epoch_*.pth"), key=lambda p: int(p.stem.split("_")[1]))
    if not checkpoints:
        return "step"
    last = checkpoints[-1]
    if not complete(last):
        return "checkpoint"
    metrics = work_dir / EPOCH_METRICS
    validated = {json.loads(line)["epoch"] for line in metrics.read_text().splitlines() if line.strip()} \
        if metrics.exists() else set()
    return "validation" if int(last.stem.split("_")[1]) not in validated else "step"


def training_work_dir(work: Path, cmd: str) -> Path | None:
    experiment = re.search(r"--experiment (\S+)", cmd)
    seed = re.search(r"--seed (\d+)", cmd)
    scale = re.search(r"--scale (\S+)", cmd)
    if not (experiment and seed and scale):
        return None
    return work / "work_dirs" / scale[1] / experiment[1] / f"seed{seed[1]}"


def running_jobs(work: Path, snakemake_pid: int) -> dict[str, list[int]]:
    """Phase -> the job processes of that phase now running under Snakemake."""
    phases: dict[str, list[int]] = {}
    for pid in children(snakemake_pid):
        kind = job_kind(command_line(pid))
        if kind == "train":
            kind = training_phase(work, pid)
        if kind:
            phases.setdefault(kind, []).append(pid)
    return phases


# --- faults -------------------------------------------------------------------------------------------------

def send(pid: int, how: str) -> None:
    """SIGKILL, or SIGTERM and SIGKILL after the grace a scheduler gives."""
    try:
        if how == "KILL":
            os.kill(pid, signal.SIGKILL)
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + TERM_GRACE_S
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Schedule:
    """Which running phase to hit, and when. Kills come at least ``mean_gap_s`` apart on average (drawn from
    the seeded generator), so they spread over the whole DAG. At each kill: data first (it runs only at the
    DAG's start: once a training runs, data that was not seen is gone), then a running phase among those hit
    least; one not running is waited for up to PATIENCE_S, then any running phase will do. The last kills are
    kept for the phases not hit yet, which come late (speed after every training, reports last) and are
    waited for however long they take. Among running phases hit equally, the one first in the DAG's order
    (``phases``) goes first: it may end before the others, Snakemake runs to the end."""

    def __init__(self, rng: random.Random, phases: tuple[str, ...], mean_gap_s: float = 0.0):
        self.rng, self.phases, self.mean_gap_s, self.hits = rng, phases, mean_gap_s, Counter()
        self.next_at = 0.0  # the time (time.monotonic) from which the next kill may come
        self.gone: set[str] = set()  # phases that will not come again (data, once the DAG is past it)

    def pick(self, running: set[str], kills_left: int, waited_s: float) -> str | None:
        """The phase to hit now among those ``running``, or None to wait (``waited_s``: since the kill was
        due, or since Snakemake last started)."""
        if not any(self.hits.values()) and "data" in self.phases and "data" not in self.gone:
            if "data" in running:
                return "data"
            if waited_s <= PATIENCE_S and not running & TRAINING_PHASES:
                return None
            self.gone.add("data")  # the data were ready before the first kill could come
        live = [p for p in self.phases if p not in self.gone]  # a phase gone holds no kill back
        never_hit = [p for p in live if not self.hits[p]]
        if never_hit and kills_left <= len(never_hit):
            wanted = never_hit
        elif waited_s > PATIENCE_S:
            wanted = live
        else:
            least = min(self.hits[p] for p in live)
            wanted = [p for p in live if self.hits[p] == least]
        candidates = [p for p in wanted if p in running]
        if not candidates:
            return None
        least = min(self.hits[p] for p in candidates)
        return next(p for p in candidates if self.hits[p] == least)

    def hit(self, phase: str, now: float) -> None:
        self.hits[phase] += 1
        self.next_at = now + self.rng.uniform(0, 2 * self.mean_gap_s)


def chaos_run(work: Path, dag_args: list[str], kills: int, seed: int, phases: tuple[str, ...] = PHASES,
              mean_gap_s: float = 0.0, echo=print) -> ChaosLog:
    """Run the DAG in ``work`` to its end under ``kills`` faults drawn from ``seed``, about ``mean_gap_s``
    apart."""
    rng = random.Random(seed)
    schedule, log = Schedule(rng, phases, mean_gap_s), ChaosLog(seed)
    start = time.monotonic()
    while True:
        # Snakemake's log goes to a file: a pipe read only at its end fills up and blocks Snakemake mid-run
        with tempfile.TemporaryFile("w+") as stderr_file:
            process = subprocess.Popen([*SNAKEMAKE, "--cores", "2", "--rerun-incomplete", "--keep-going",
                                        *dag_args], cwd=work, stdout=subprocess.DEVNULL, stderr=stderr_file, text=True)
            killed_snakemake = fault_one_run(work, process, schedule, log, kills, rng, start, echo)
            process.wait()
            stderr_file.seek(0)
            stderr = stderr_file.read()
        if process.returncode == 0 and not killed_snakemake:
            break
        log.restarts += 1
        if log.restarts > 3 * kills + 10:
            raise RuntimeError(f"the DAG never finished after {log.restarts} restarts:\n{stderr[-3000:]}")
        if killed_snakemake:
            wait_for_orphans(work)
            subprocess.run([*SNAKEMAKE, "--unlock", *dag_args], cwd=work, capture_output=True)
    log.wall_s = time.monotonic() - start
    return log


def fault_one_run(work: Path, process: subprocess.Popen, schedule: Schedule, log: ChaosLog, kills: int,
                  rng: random.Random, start: float, echo) -> bool:
    """Watch one Snakemake run and kill in it as scheduled; True if Snakemake itself was killed. A phase
    picked is hit at a random moment within it (PHASE_SPREAD_S), if its process is still in it then."""
    pending, started = None, time.monotonic()  # (phase, victim, when); the patience clock starts with Snakemake
    while process.poll() is None:
        time.sleep(POLL_S)
        now = time.monotonic()
        if len(log.kills) >= kills or now < schedule.next_at:
            continue
        running = {**running_jobs(work, process.pid), "snakemake": [process.pid]}
        if pending is None:
            phase = schedule.pick(set(running), kills - len(log.kills), now - max(schedule.next_at, started))
            if phase is None:
                continue
            pending = (phase, rng.choice(running[phase]), now + rng.uniform(0, PHASE_SPREAD_S[phase]))
        elif pending[1] not in running.get(pending[0], []):  # the phase moved on meanwhile: pick again
            pending = None
            continue
        phase, victim, when = pending
        if now < when:  # a moment within the phase; a brief one (a checkpoint write) is hit as it is seen
            continue
        how = rng.choice(["KILL", "TERM+KILL"])
        target = "snakemake" if phase == "snakemake" else command_line(victim)[-160:]
        send(victim, how)
        kill = Kill(phase, how, target, time.monotonic() - start)
        log.kills.append(kill)
        schedule.hit(phase, time.monotonic())
        pending = None
        echo(f"  kill {len(log.kills)}: {phase} ({how}) at {kill.after_s:.0f} s: {target}")
        if phase == "snakemake":
            process.wait()
            return True
    return False


def processes_in(work: Path) -> list[int]:
    """Processes (not this one) whose working directory is inside ``work``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if Path(cwd).is_relative_to(work.resolve()) and pid_alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def wait_for_orphans(work: Path, timeout_s: float = 1800) -> None:
    """A killed Snakemake leaves its jobs running; a user on a workstation waits for them (or kills them)."""
    deadline = time.monotonic() + timeout_s
    while processes_in(work):
        if time.monotonic() > deadline:
            raise RuntimeError(f"orphaned jobs still running after {timeout_s:.0f} s: {processes_in(work)}")
        time.sleep(0.5)


# --- the outcome against the reference ------------------------------------------------------------------

def speed_columns(work: Path) -> set[str]:
    """The table columns that show timings (``source: speed`` in configs/tables.yaml)."""
    tables = yaml.safe_load((work / "configs" / "tables.yaml").read_text())["tables"]
    return {column["name"] for table in tables.values() for column in table.get("columns", [])
            if column.get("source") == "speed"}


def table_rows(text: str, suffix: str) -> list[list[str]] | None:
    """The rows of the tables in a report, as cells; None for a file that holds no table."""
    if suffix == ".csv":
        return [row for row in csv.reader(io.StringIO(text))]
    if suffix == ".md":
        return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
                if line.startswith("|")]
    if suffix == ".tex":
        return [[c.strip() for c in line.removesuffix("\\\\").split("&")] for line in text.splitlines() if "&" in line]
    if suffix == ".html":
        return [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in re.findall(r"<tr.*?</tr>", text, re.S)]
    return None


def timed_claims(work: Path, scale: str) -> set[str]:
    """The ids of the claims on speed (their rows hold timings), from the claims report."""
    path = work / "reports" / scale / "claims.csv"
    if not path.exists():
        return set()
    return {row["id"] for row in csv.DictReader(io.StringIO(path.read_text())) if row.get("timed") == "True"}


def without_timings(text: str, suffix: str, timed: set[str], timed_rows: set[str] = frozenset()) -> object:
    """A report with the cells of its timing columns, and of the rows whose first cell names a claim on
    speed, blanked; the rest as it is."""
    rows = table_rows(text, suffix)
    if rows is None:
        return text
    masked, columns = [], set()
    for row in rows:
        if timed & set(row):
            columns = {i for i, cell in enumerate(row) if cell in timed}
        elif len(row) <= 1:
            columns = set()
        if row and row[0].strip() in timed_rows:
            masked.append([row[0]] + ["·"] * (len(row) - 1))
            continue
        masked.append([("·" if i in columns else cell) for i, cell in enumerate(row)])
    if suffix == ".html":  # a row's cells may span lines: everything outside the rows
        lines = re.sub(r"<tr.*?</tr>", "", text, flags=re.S).splitlines()
    else:
        lines = [line for line in text.splitlines() if not (line.startswith("|") or "&" in line or suffix == ".csv")]
    # the claims report's notes on a claim on speed (its share of the reference cell) hold timings too
    return masked, [line for line in lines if not any(line.startswith(f"* claim {i}:") for i in timed_rows)]


def report_differences(work: Path, reference: Path, scale: str) -> list[str]:
    """Report files that differ from the reference's (timing cells aside), or are missing on one side."""
    timed, problems = speed_columns(work), []
    timed_rows = timed_claims(reference, scale)
    ours, theirs = (sorted(p.relative_to(w) for p in (w / "reports" / scale).rglob("*") if p.is_file())
                    for w in (work, reference))
    if ours != theirs:
        problems.append(f"report files differ: only ours {sorted(set(ours) - set(theirs))}, "
                        f"only the reference's {sorted(set(theirs) - set(ours))}")
    for path in sorted(set(ours) & set(theirs)):
        a, b = (w / path for w in (work, reference))
        if a.read_bytes() == b.read_bytes():
            continue
        if path.suffix in (".csv", ".md", ".tex", ".html") and (
                without_timings(a.read_text(), path.suffix, timed, timed_rows)
                == without_timings(b.read_text(), path.suffix, timed, timed_rows)):
            continue
        problems.append(f"{path} differs from the uninterrupted run's")
    return problems


def metric_differences(work: Path, reference: Path, scale: str) -> list[str]:
    """Runs whose per-epoch metrics (every digit) or evidence differ from the reference's."""
    from o2f.engine.hooks import read_epoch_metrics

    def finished(tree: Path) -> list[Path]:
        found = (tree / "work_dirs" / scale).glob(f"*/seed*/{FINAL_METRICS}")
        return sorted(p.parent.relative_to(tree) for p in found)

    problems, runs, ours = [], finished(reference), finished(work)
    for run in runs:
        if read_epoch_metrics(work / run) != read_epoch_metrics(reference / run):
            problems.append(f"{run}: per-epoch metrics differ from the uninterrupted run's")
    if ours != runs:
        problems.append(f"finished runs differ: {sorted(set(ours) ^ set(runs))}")
    return problems


def tracking_problems(work: Path) -> list[str]:
    """MLflow: exactly one FINISHED run per experiment and seed, no metric step logged twice."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("o2f")
    runs = client.search_runs([experiment.experiment_id]) if experiment else []
    problems = []
    counted = Counter(r.info.run_name for r in runs)  # "<experiment>-seed<k>"
    problems += [f"{name}: {n} MLflow runs" for name, n in counted.items() if n != 1]
    for run in runs:
        name = run.info.run_name
        if run.info.status != "FINISHED":
            problems.append(f"{name}: MLflow status {run.info.status}")
        for key in set(run.data.metrics) - TIMINGS:
            steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
            if len(steps) != len(set(steps)):
                problems.append(f"{name}: metric {key} logged twice at a step")
                break
    finished = len(list((work / "work_dirs").glob("*/*/seed*/final_metrics.json")))
    if len(runs) != finished:
        problems.append(f"{len(runs)} MLflow runs for {finished} finished trainings")
    return problems


def leftovers(work: Path) -> list[str]:
    """Locks still held (work dirs, Snakemake's own) and processes still running in the work tree."""
    problems = [f"process {pid} still running: {command_line(pid)[:120]}" for pid in processes_in(work)]
    for lock in (work / "work_dirs").glob("*/*/seed*/o2f.lock"):
        with open(lock) as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
            except BlockingIOError:
                problems.append(f"{lock} is still held")
    held = [p.name for p in (work / ".snakemake" / "locks").glob("*")]
    if held:
        problems.append(f"Snakemake locks left: {held}")
    return problems


def differences(work: Path, reference: Path, scale: str) -> list[str]:
    return [*report_differences(work, reference, scale), *metric_differences(work, reference, scale),
            *tracking_problems(work), *leftovers(work)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", default="ci")
    parser.add_argument("--tables", default="all", help="the DAG's tables, comma-separated")
    parser.add_argument("--out", type=Path, default=Path("/tmp/o2f_chaos"))
    parser.add_argument("--reuse-reference", action="store_true",
                        help="keep the uninterrupted run already in --out (same code, tables and scale)")
    args = parser.parse_args()
    print(f"chaos seed {args.seed}: {args.kills} kills, scale {args.scale}, tables {args.tables}", flush=True)
    dag_args = ["--config", f"scale={args.scale}", f"tables=[{args.tables}]"]
    reference, work = project_copy(args.out / "reference"), project_copy(args.out / "chaos")
    timing = reference / "uninterrupted_seconds"
    if not (args.reuse_reference and timing.exists()):
        began = time.monotonic()
        done = subprocess.run([*SNAKEMAKE, "--cores", "2", *dag_args], cwd=reference, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"the uninterrupted run failed:\n{done.stderr[-3000:]}")
            return 1
        timing.write_text(f"{time.monotonic() - began:.1f}")
    uninterrupted = float(timing.read_text())
    print(f"uninterrupted: {uninterrupted:.0f} s", flush=True)
    # kills spread over the first third of the uninterrupted run's length or so (a killed Snakemake waits for
    # its orphans, and waits for a phase add up), the last ones kept for the late phases
    log = chaos_run(work, dag_args, args.kills, args.seed, mean_gap_s=uninterrupted / (3 * args.kills),
                    echo=lambda line: print(line, flush=True))
    problems = differences(work, reference, args.scale)
    print(f"chaos: {len(log.kills)} kills survived ({', '.join(f'{p} {n}' for p, n in log.by_phase().items())}), "
          f"{log.restarts} restarts, {log.wall_s:.0f} s ({log.wall_s / uninterrupted:.2f}x the uninterrupted run)")
    for problem in problems:
        print(f"DIFFERENCE: {problem}")
    print("outcome: identical to the uninterrupted run" if not problems else f"outcome: {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
