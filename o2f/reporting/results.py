"""Read finished experiments' metrics: final values per seed and per-epoch curves."""

from __future__ import annotations

import copy
import gzip
import json
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..failed_run import failed_run
from ..pipeline.evidence_kinds import EvidenceKinds
from ..pipeline.layout import EVIDENCE_RESAMPLED, EVIDENCE_RUN
from ..pipeline.plan import NMS_VARIANTS, Plan
from ..run_kinds import record_kind
from ..speed_cells import table_value
from ..work_dir import SCORE_MAPS
from .score_maps import dense_anchors, epoch_files


@dataclass(frozen=True)
class Value:
    """A metric in percent over the finished seeds (``n`` = 0: not finished)."""

    mean: float | None
    std: float | None
    n: int

    def text(self) -> str:
        if self.mean is None:
            return "not finished"
        return f"{self.mean:.1f}" if self.n == 1 else f"{self.mean:.1f} ± {self.std:.1f}"


def load_final(path: str | Path) -> dict | None:
    """A run's evidence (``run.json``, o2f.pipeline.evidence) with each epoch's metrics at full precision
    where its detections were kept (the evaluator logs them rounded), and ``final``: the last epoch's."""
    path = Path(path)
    if not path.exists():
        return None
    run = json.loads(path.read_text())
    precise = run.get("full_precision", {})
    run["epochs"] = [{**entry, **precise.get(f"epoch_{entry['epoch']}", {})} for entry in run["epochs"]]
    run["final"] = run["epochs"][-1] if run["epochs"] else {}
    return run


def read_gzip_json(path: Path):
    with gzip.open(path, "rt") as handle:
        return json.load(handle)


def metric_key(metric: str, nms: bool) -> str:
    """``bbox_mAP`` -> ``coco/nms_bbox_mAP``; a metric naming its prefix (``crowd_human/mMR``) keeps it."""
    prefix, _, name = metric.rpartition("/")
    return f"{prefix or 'coco'}/{NMS_VARIANTS[nms]}_{name}"


class Results:
    """Metrics of a plan's experiments, read from their evidence (``evidence/<scale>/...``): each run of the
    first kind that has it, or, in a report's view (``reading``), of the kind the report reads its seed from
    (``o2f.pipeline.evidence_kinds``)."""

    def __init__(self, plan: Plan, root: Path | None = None) -> None:
        self.plan = plan
        self.root = root or Path.cwd()
        self.evidence_kinds = EvidenceKinds(plan, self.root, work_dirs=False)  # the evidence there is
        self.kind_of: Callable[[str, int], str | None] = self.evidence_kinds.for_run
        self._read: dict[Path, object] = {}  # files read once, shared by every view of one report
        self._finals: dict[str, dict[int, dict]] = {}
        self._map_counts: dict[tuple[str, str], dict[int, np.ndarray]] = {}
        self._speed_runs: dict[str, dict | None] = {}

    def reading(self, experiments) -> Results:
        """The runs one report compares: at each seed, every one from the first kind that has them all."""
        experiments = tuple(experiments)
        view = copy.copy(self)  # shares the files read, the kinds and the speed runs; reads its own seeds
        view.kind_of = lambda _experiment, seed: self.evidence_kinds.for_runs(experiments, seed)
        view._finals, view._map_counts = {}, {}
        return view

    def for_report(self, name: str) -> Results:
        """A table's or a figure's view: all the runs it shows (``Plan.experiments_for``)."""
        return self.reading(self.plan.experiments_for([name]))

    def evidence_dir(self, experiment: str, seed: int) -> Path | None:
        """The folder of the run this view reads at the seed; None where no kind has it."""
        kind = self.kind_of(experiment, seed)
        return None if kind is None else self.root / self.plan.layout.evidence_dir(experiment, seed, kind)

    def finals_by_seed(self, experiment: str) -> dict[int, dict]:
        """The evidence of each finished seed of the configured seeds, read once per report."""
        if experiment not in self._finals:
            folders = {s: self.evidence_dir(experiment, s) for s in self.plan.settings["seeds"]}
            found = {s: self.read(folder / EVIDENCE_RUN, load_final) for s, folder in folders.items() if folder}
            self._finals[experiment] = {s: f for s, f in found.items() if f}
        return self._finals[experiment]

    def read(self, path: Path, reader: Callable[[Path], object]):
        """A file's content, read once per report (None: not there)."""
        if path not in self._read:
            self._read[path] = reader(path) if path.exists() else None
        return self._read[path]

    def finals(self, experiment: str) -> list[dict]:
        return list(self.finals_by_seed(experiment).values())

    def seed_values(self, experiment: str | None, metric: str, nms: bool) -> dict[int, float]:
        """The metric in percent after the last epoch, per finished seed."""
        if experiment is None:
            return {}
        key = metric_key(metric, nms)
        return {s: 100 * f["final"][key] for s, f in self.finals_by_seed(experiment).items() if key in f["final"]}

    def seed_curves(self, experiment: str, metric: str, nms: bool) -> dict[int, pd.Series]:
        """The metric in percent per epoch (a Series indexed by epoch), per finished seed that has it."""
        key = metric_key(metric, nms)
        curves = {s: pd.Series({e["epoch"]: 100 * e[key] for e in f["epochs"] if key in e}, dtype=float)
                  for s, f in self.finals_by_seed(experiment).items()}
        return {s: curve for s, curve in curves.items() if not curve.empty}

    def kinds(self, experiment: str) -> dict[int, str]:
        """The kind (processor and precision) each finished seed ran on."""
        return {s: record_kind(run) for s, run in self.finals_by_seed(experiment).items()}

    def failed(self, experiment: str) -> dict[int, str]:
        """Seeds whose training the failed-run rule flags (o2f/failed_run.py: a dead box regression), why."""
        found = {}
        for seed, run in self.finals_by_seed(experiment).items():
            reason = run.get("failed") or failed_run(run.get("losses", []), 0.0, [],
                                                     loss_weight=run.get("box_loss_weight", 1.0))
            if reason:
                found[seed] = reason
        return found

    def bootstrap(self, experiment: str, seed: int) -> dict | None:
        """The bootstrap a run's evidence was resampled for (replicates, seed, test images), if any."""
        run = self.finals_by_seed(experiment).get(seed)
        return run.get("bootstrap") if run else None

    def resampled(self, experiment: str, seed: int) -> dict | None:
        """A run's metrics on the bootstrap's image multisets, {epoch_E: {key: values}}, read once per report:
        every cell and claim reading the run shares them."""
        folder = self.evidence_dir(experiment, seed)
        return None if folder is None else self.read(folder / EVIDENCE_RESAMPLED, read_gzip_json)

    def seed_draws(self, experiment: str, metric: str, nms: bool, curve: bool) -> dict[int, object]:
        """Per seed, the metric in percent on each of the bootstrap's image multisets: an array over the
        replicates (the last epoch), or for a curve a frame of epochs x replicates; {} without them."""
        key, found = metric_key(metric, nms), {}
        for seed in self.finals_by_seed(experiment):
            resampled = self.resampled(experiment, seed)
            if resampled is None:
                return {}
            by_epoch = {int(e.split("_")[1]): v[key] for e, v in resampled.items() if key in v}
            if not by_epoch:
                return {}
            if curve:
                found[seed] = 100 * pd.DataFrame(np.array([by_epoch[e] for e in sorted(by_epoch)]),
                                                 index=sorted(by_epoch))
            else:
                found[seed] = 100 * np.asarray(by_epoch[max(by_epoch)])
        return found

    def seed_map_counts(self, experiment: str, epoch: str) -> dict[int, np.ndarray]:
        """Per finished seed that kept score maps, Figure 6's count per object (``score_maps.dense_anchors``)
        on the maps after the ``"first"`` or ``"last"`` epoch, read once per report."""
        if (experiment, epoch) not in self._map_counts:
            found = {}
            for seed in self.finals_by_seed(experiment):
                files = epoch_files(self.evidence_dir(experiment, seed) / SCORE_MAPS)
                if len(files) > 1:  # the first epoch's and the last's
                    with np.load(files[0 if epoch == "first" else -1]) as maps:
                        found[seed] = dense_anchors(maps)
            self._map_counts[(experiment, epoch)] = found
        return self._map_counts[(experiment, epoch)]

    def value(self, experiment: str | None, metric: str, nms: bool) -> Value:
        values = list(self.seed_values(experiment, metric, nms).values())
        if not values:
            return Value(None, None, 0)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        return Value(statistics.fmean(values), std, len(values))

    def speed_run(self, experiment: str | None) -> dict | None:
        """The experiment's speed benchmark (``o2f speed``): medians, per-image timings, the device; read once
        per report (its cells, its claim's values, kinds and bootstrap all read it)."""
        if experiment is None:
            return None
        if experiment not in self._speed_runs:
            path = self.root / self.plan.speed_file(experiment)
            self._speed_runs[experiment] = json.loads(path.read_text()) if path.exists() else None
        return self._speed_runs[experiment]

    def speed(self, experiment: str | None, metric: str, with_nms: bool) -> Value:
        """A speed cell (ms or FPS, not %), from the experiment's speed benchmark."""
        run = self.speed_run(experiment)
        return Value(None, None, 0) if run is None else Value(table_value(run, metric, with_nms), 0.0, 1)

    def cell_value(self, experiment: str | None, metric: str, nms: bool, source: str) -> Value:
        """A table cell's value: a metric over the seeds, or a speed measurement."""
        return (self.speed if source == "speed" else self.value)(experiment, metric, nms)

    def speed_devices(self, table: str) -> list[str]:
        found = {json.loads((self.root / f).read_text()).get("device", "unknown")
                 for f in self.plan.speed_files(table) if (self.root / f).exists()}
        return sorted(found)
