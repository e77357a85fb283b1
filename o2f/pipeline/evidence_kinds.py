"""Which kind's run a report reads, and on which kind a missing run trains.

Runs of one experiment and seed on two kinds (processor and precision, ``o2f.run_kinds``) are two runs, each
in its kind's evidence folder. A report (a claim, a table, a figure) reads, per seed, the runs of the first kind
that has *every* run it shows at that seed, so both sides of a comparison at one seed (a claim's, or a
table's difference to its reference cell) always come from one kind. Kinds come in a fixed order, the kind
with the most evidence first, so a report renders the same on any machine. Where no kind has a report's runs
at a seed, the DAG trains them all here, on this machine's kind, beside none of another kind's.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache, cached_property
from pathlib import Path

from ..run_kinds import kind_folder, record_kind, run_kind
from .layout import EVIDENCE_RUN


def kind_here(precision_setting: str, work_dir: str | Path) -> str:
    """The kind a training in ``work_dir`` would have on this machine: its device, and the precision the run
    started in (a resumed run keeps it) or the one its config's setting (``precision``) picks here."""
    from ..engine.device import device_name, training_device
    from ..engine.precision import choose, recorded_precision

    precision = recorded_precision(work_dir) or choose(precision_setting, training_device()).name
    return run_kind(device_name(), precision)


def read_json(path: Path) -> dict | None:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


class EvidenceKinds:
    """The kinds a plan's runs have in the project at ``root`` (default: the plan's), read once: evidence of the
    experiment's present spec and, for the DAG (``work_dirs``), a run finished in its work dir here (its
    evidence is one job away). A report reads evidence only: never a file its DAG has not written yet."""

    def __init__(self, plan, root: Path | None = None, work_dirs: bool = True) -> None:
        self.plan, self.root, self.work_dirs = plan, root or plan.root, work_dirs

    @cached_property
    def order(self) -> list[str]:
        """Kind folders, the one with the most evidence at this scale first (then by name): fixed by the
        evidence, not by the machine that reads it."""
        root = self.root / self.plan.layout.evidence_root / self.plan.scale
        counts = Counter(path.parent.parent.name for path in root.glob(f"*/*/seed*/{EVIDENCE_RUN}"))
        return sorted(counts, key=lambda kind: (-counts[kind], kind))

    def rank(self, kind: str) -> tuple[int, str]:
        return (self.order.index(kind) if kind in self.order else len(self.order), kind)

    @cache  # noqa: B019  (one plan per DAG or report: its cache lives as long as it does)
    def finished_here(self, experiment: str, seed: int) -> str | None:
        """The kind of a run finished in its work dir here, else None."""
        run = read_json(self.root / self.plan.metrics_file(experiment, seed))
        return kind_folder(record_kind(run)) if run else None

    @cache  # noqa: B019
    def usable(self, experiment: str, seed: int) -> tuple[str, ...]:
        """The kinds that have this run for the experiment's present spec, in ``order``."""
        layout, root, present = self.plan.layout, self.root, self.plan.spec_digest(experiment)
        found = {kind for kind in layout.evidence_kinds(root, experiment, seed)
                 if self.plan.trained_spec(read_json(root / layout.evidence_file(experiment, seed, kind))) == present}
        here = self.finished_here(experiment, seed) if self.work_dirs else None
        return tuple(sorted(found | {here} if here else found, key=self.rank))

    def for_run(self, experiment: str, seed: int) -> str | None:
        """The first kind that has the run; None where no kind has it."""
        usable = self.usable(experiment, seed)
        return usable[0] if usable else None

    def for_runs(self, experiments, seed: int) -> str | None:
        """The kind a report reads its runs at ``seed`` from: the first kind that has every one; None: none has."""
        common = set.intersection(*(set(self.usable(e, seed)) for e in experiments)) if experiments else set()
        return min(common, key=self.rank) if common else None

    @cache  # noqa: B019
    def precision_setting(self, experiment: str) -> str:
        """The experiment's ``precision`` at this scale (reads its config: torch)."""
        from .config import load_config

        spec = self.plan.experiment_spec(experiment)
        return load_config(spec["config"], self.plan.scale, spec.get("overrides") or None).get("precision", "fp32")

    def here(self, experiment: str, seed: int) -> str:
        """The kind folder a training of the run has: this machine's, or the nodes' where the scale's settings
        name it (``train.kind``: a cluster's jobs train on its nodes, not where the DAG runs)."""
        nodes = self.plan.scale_settings["train"].get("kind")
        if nodes:
            return nodes
        work_dir = self.root / self.plan.work_dir(experiment, seed)
        return kind_folder(kind_here(self.precision_setting(experiment), work_dir))
