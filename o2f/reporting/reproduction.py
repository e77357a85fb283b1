"""Did this machine's runs reproduce the committed ones? Each run as its work dir has it (every epoch's
metrics, as the evaluator logged them) against the evidence git holds (``git show HEAD:<path>``), so a run
is never compared with a copy of the committed evidence.

On the kind the committed run came from (processor and precision), a run is expected to reproduce every
epoch's metrics to the digit, and one that does not is a finding; on a kind with no committed run of its
own, its final value is set against another kind's committed run and the spread of that kind's seeds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..pipeline.layout import EVIDENCE_RUN
from ..run_kinds import kind_folder, record_kind

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
        precise = "full_precision" not in new or new["full_precision"] == old.get("full_precision")
        if new["epochs"] == old["epochs"] and precise:
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


def reproductions(root: Path, runs: list[tuple[str, int, str, str]]) -> list[Reproduction]:
    """One line per run this DAG trained, (experiment, seed, its final metrics file, the experiment's evidence
    folder): against the committed run of its kind (``<folder>/<kind>/seed<k>/``), else against the committed
    run of another kind and the spread of that kind's committed seeds."""
    out = []
    for experiment, seed, metrics, folder in runs:
        new = json.loads((root / metrics).read_text())
        new["kind"] = record_kind(new)
        own = kind_folder(new["kind"])
        kinds = [own] + [k for k in committed_names(root, folder) if k != own]
        found = ((kind, committed(root, f"{folder}/{kind}/seed{seed}/{EVIDENCE_RUN}")) for kind in kinds)
        kind, old = next(((kind, run) for kind, run in found if run), (None, None))
        seed_dirs = committed_names(root, f"{folder}/{kind}") if kind else []
        others = [committed(root, f"{folder}/{kind}/{d}/{EVIDENCE_RUN}") for d in seed_dirs if d.startswith("seed")]
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
