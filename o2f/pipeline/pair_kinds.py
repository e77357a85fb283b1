"""A claim pairs its runs seed by seed, both sides from one kind (``o2f.reporting.claims.check_one_kind``).
A training the DAG starts here beside a run of another kind at the same seed could never be read by such a
claim and would stop the claims report after hours of work: the DAG checks before its first job."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import O2FError
from ..run_kinds import record_kind, run_kind


def finished_kind(plan, experiment: str, seed: int) -> str | None:
    """The kind of a run the DAG does not train now, as the report will read it: its evidence's, else its
    work dir's (which the evidence will be written from); None where neither is there."""
    for path in (plan.root / plan.evidence_file(experiment, seed), plan.root / plan.metrics_file(experiment, seed)):
        try:
            run = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(run, dict):
            return record_kind(run)
    return None


def check_pairs_on_one_kind(plan, training: Iterable[tuple[str, int]], kind_of_training: Callable[[str, int], str]
                            ) -> None:
    """Stop, naming both runs and both kinds, where a claim (every claim: the claims report reads whatever
    evidence there is) would pair a run in ``training`` with a run of another kind at its seed.
    ``kind_of_training(experiment, seed)``: the kind that training will have here."""
    training = set(training)
    in_order = sorted(training)  # the first conflict named is the same on every run
    finished: dict[tuple[str, int], str | None] = {}  # each record read once
    for claim in plan.claims:
        if claim.timed:
            continue
        for experiment, seed in in_order:
            if experiment not in claim.experiments:
                continue
            for other in claim.experiments:
                if (other, seed) not in finished:
                    finished[other, seed] = None if (other, seed) in training else finished_kind(plan, other, seed)
                kind = finished[other, seed]
                if kind and kind != kind_of_training(experiment, seed):
                    raise O2FError(
                        f"claim {claim.id} at seed {seed}: {experiment} would train here "
                        f"({kind_of_training(experiment, seed)}) beside {other}, trained on {kind}, and a claim "
                        f"pairs one seed's runs from one kind; train it on that kind, or leave it out of this DAG")


def kind_here(cfg, work_dir: str | Path) -> str:
    """The kind a training of ``cfg`` in ``work_dir`` would have on this machine: its device, and the precision
    the run started in (a resumed run keeps it) or the one its setting picks here."""
    from ..engine.device import device_name, training_device
    from ..engine.precision import choose, recorded_precision

    precision = recorded_precision(work_dir) or choose(cfg.get("precision", "fp32"), training_device()).name
    return run_kind(device_name(), precision)


def check_trainings_here(plan, training: Iterable[tuple[str, int]]) -> None:
    """``check_pairs_on_one_kind`` for trainings on this machine; a config is read only for a training with a
    finished partner."""
    from functools import cache

    from .config import load_config

    @cache
    def kind_of_training(experiment: str, seed: int) -> str:
        spec = plan.experiment_spec(experiment)
        cfg = load_config(spec["config"], plan.scale, spec.get("overrides") or None)
        return kind_here(cfg, plan.root / plan.work_dir(experiment, seed))

    check_pairs_on_one_kind(plan, training, kind_of_training)
