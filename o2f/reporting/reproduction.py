"""Did this machine's runs reproduce the committed ones? Each run's evidence against the version git holds.

The DAG's trainings replace their runs' evidence; git's committed copy (``git show HEAD:<path>``) is what
they are compared with. On the kind the committed run came from (processor and precision), a run is
expected to reproduce every epoch's metrics to the digit, and one that does not is a finding; on another
kind its final value is set against the spread of the committed seeds of the same experiment.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

IDENTICAL, DIFFERS, OTHER_KIND, NEW = "identical", "differs (same kind)", "another kind", "new"


@dataclass(frozen=True)
class Reproduction:
    experiment: str
    seed: int
    outcome: str
    note: str


def committed(root: Path, path: str) -> dict | None:
    """The version of a file that git's HEAD holds (None outside git or where it is not committed)."""
    done = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{path}"], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 and done.stdout.strip() else None


def headline_keys(run: dict) -> list[str]:
    """The metrics a reproduction is told by: AP (masks where there are) or mMR, with and without NMS."""
    keys = sorted(run["epochs"][-1]) if run.get("epochs") else []
    for suffix in ("_segm_mAP", "_bbox_mAP", "_mMR"):
        found = [k for k in keys if k.endswith(suffix)]
        if found:
            return found
    return []


def final_value(run: dict, key: str) -> float | None:
    last = run["epochs"][-1] if run.get("epochs") else {}
    precise = run.get("full_precision", {}).get(f"epoch_{last.get('epoch')}", {})
    value = precise.get(key, last.get(key))
    return None if value is None else 100 * float(value)


def differences(new: dict, old: dict) -> str:
    return ", ".join(f"{key} {final_value(new, key):.2f} against {final_value(old, key):.2f}"
                     for key in headline_keys(new) if final_value(old, key) is not None)


def compare(new: dict, old: dict | None, others: list[dict]) -> tuple[str, str]:
    """(outcome, note) of one run against its committed version and the committed seeds of its experiment."""
    if old is None:
        return NEW, "no committed evidence of this run"
    if new["kind"] == old["kind"]:
        if new["epochs"] == old["epochs"] and new.get("full_precision") == old.get("full_precision"):
            return IDENTICAL, f"every epoch's metrics equal the committed run's ({new['kind']})"
        changed = [n["epoch"] for n, o in zip(new["epochs"], old["epochs"], strict=False) if n != o]
        return DIFFERS, f"on the committed run's kind ({new['kind']}) epochs {changed} differ: {differences(new, old)}"
    spreads = []
    for key in headline_keys(new):
        values = [v for v in (final_value(run, key) for run in others) if v is not None]
        if len(values) > 1:
            spreads.append(f"{key} {statistics.stdev(values):.2f}")
    spread = f"; committed seeds' std: {', '.join(spreads)} (n = {len(others)})" if spreads else ""
    return OTHER_KIND, f"{new['kind']} here, {old['kind']} committed: {differences(new, old)}{spread}"


def committed_names(root: Path, folder: str) -> list[str]:
    """The names git's HEAD holds in a folder (an experiment's kind folders, a kind's ``seed<k>`` folders)."""
    done = subprocess.run(["git", "-C", str(root), "ls-tree", "--name-only", "HEAD", f"{folder}/"],
                          capture_output=True, text=True)
    return [Path(line).name for line in done.stdout.splitlines()] if done.returncode == 0 else []


def reproductions(root: Path, runs: list[tuple[str, int, str]]) -> list[Reproduction]:
    """One line per (experiment, seed, evidence file) of the runs this DAG trained: against the committed run
    of its kind, else against the committed run of another kind (``evidence/<scale>/<experiment>/<kind>/
    seed<k>/``) and the spread of that kind's committed seeds."""
    out = []
    for experiment, seed, path in runs:
        new = json.loads((root / path).read_text())
        seed_dir, name = Path(path).parent, Path(path).name
        experiment_dir = seed_dir.parent.parent
        kinds = [seed_dir.parent.name] + [k for k in committed_names(root, str(experiment_dir))
                                          if k != seed_dir.parent.name]
        found = ((kind, committed(root, f"{experiment_dir}/{kind}/{seed_dir.name}/{name}")) for kind in kinds)
        kind, old = next(((kind, run) for kind, run in found if run), (None, None))
        seed_dirs = committed_names(root, f"{experiment_dir}/{kind}") if kind else []
        others = [committed(root, f"{experiment_dir}/{kind}/{d}/{name}") for d in seed_dirs if d.startswith("seed")]
        outcome, note = compare(new, old, [o for o in others if o])
        out.append(Reproduction(experiment, seed, outcome, note))
    return out


def write_reproduction(found: list[Reproduction], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["**Did these runs reproduce the committed evidence?** (o2f/reporting/reproduction.py)", "",
             "| experiment | seed | outcome | note |", "|---|---|---|---|"]
    lines += [f"| {r.experiment} | {r.seed} | {r.outcome} | {r.note} |" for r in found]
    out.write_text("\n".join(lines) + "\n")
    return out
