"""The experiment plan behind the DAG and the reports, read from ``configs/tables.yaml``.

An *experiment* (a config plus overrides) is trained once per seed however many table cells show
it; a *cell* names the experiment, the metric and the NMS variant it displays.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import O2FError

ROOT = Path(__file__).resolve().parent.parent
NMS_VARIANTS = {True: "nms", False: "nonms"}
# Annotation files of a dataset root, by layout; CrowdHuman's configs read odgt, the others COCO json.
ANNOTATION_FILES = {"coco": ["annotations/train.json", "annotations/val.json"],
                    "odgt": ["annotation_train.odgt", "annotation_val.odgt"]}
LAYOUTS = {"crowdhuman": "odgt"}


@dataclass(frozen=True)
class Cell:
    experiment: str | None  # None: see ``missing``
    metric: str
    nms: bool | str  # True, False or "both" (shown as "without / with")
    paper: object
    missing: str = ""  # why there is no experiment: "not implemented" or "not run at this scale"
    source: str = "metrics"  # "metrics" (COCO, from training) or "speed" (the speed benchmark)


def load_yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise O2FError(f"cannot read {path}: {err}") from err


class Plan:
    """Tables, experiments and paths for one DAG configuration (``configs/pipeline.yaml``)."""

    def __init__(self, spec: dict, settings: dict, root: Path | None = None) -> None:
        self.spec, self.settings, self.root = spec, settings, root or Path.cwd()
        self.scale = settings["scale"]
        self.experiments = spec["experiments"]
        self.tables = spec["tables"]
        self.figures = spec.get("figures", {})
        known = [*self.tables, *self.figures]
        if settings["tables"] == ["all"]:
            settings = {**settings, "tables": known}
            self.settings = settings
        unknown = [t for t in settings["tables"] if t not in known]
        if unknown:
            raise O2FError(f"unknown table(s) {', '.join(unknown)}; choose from all, {', '.join(known)}")
        scales = settings["scales"]
        if self.scale not in scales:
            raise O2FError(f"unknown scale '{self.scale}'; choose one of {', '.join(scales)}")
        self.scale_settings = scales[self.scale]
        for name, experiment in self.experiments.items():
            if not (self.root / experiment["config"]).exists():
                raise O2FError(f"experiment {name}: config {experiment['config']} does not exist")

    @classmethod
    def from_files(cls, tables_file: str | Path, settings: dict, root: Path | None = None) -> Plan:
        return cls(load_yaml(Path(tables_file)), settings, root)

    # --- what to run -------------------------------------------------------------------------
    def schedule_runs(self, schedule: str) -> bool:
        return schedule in self.scale_settings["schedules"]

    def cells(self, table: str) -> list[tuple[str, str, Cell]]:
        """(row name, column name, cell) for every cell of a table, in display order."""
        spec = self.tables[table]
        out = []
        for row in spec["rows"]:
            for column in spec["columns"]:
                merged = {**spec.get("cell", {}), **column, **row}
                schedule = merged.get("schedule", "1x")
                experiment = (merged.get("experiment") or merged.get("experiments", {}).get(schedule)
                              or row.get("experiment_by_column", {}).get(column["name"]))
                if experiment is not None and experiment not in self.experiments:
                    raise O2FError(f"{table}: row {row['name']} names unknown experiment '{experiment}'")
                missing = "not implemented" if experiment is None else ""
                if not self.schedule_runs(schedule):
                    experiment, missing = None, "not run at this scale"
                paper = row.get("paper", {}).get(column["name"])
                out.append((row["name"], column["name"], Cell(experiment, merged["metric"], merged.get("nms", False),
                                                               paper, missing, merged.get("source", "metrics"))))
        return out

    def experiments_for(self, tables: list[str] | None = None) -> list[str]:
        """Experiments behind the given tables, each once, in first-use order."""
        seen: dict[str, None] = {}
        for table in tables or self.settings["tables"]:
            if table in self.figures:
                figure = self.figures[table]
                for experiment in [c["experiment"] for c in figure.get("curves", [])] + figure.get("experiments", []):
                    seen.setdefault(experiment)
                continue
            for *_, cell in self.cells(table):
                if cell.experiment:
                    seen.setdefault(cell.experiment)
        return list(seen)

    # --- paths and commands ------------------------------------------------------------------
    def work_dir(self, experiment: str, seed: int) -> str:
        return f"{self.settings['work_root']}/{self.scale}/{experiment}/seed{seed}"

    def metrics_file(self, experiment: str, seed: int) -> str:
        return f"{self.work_dir(experiment, seed)}/final_metrics.json"

    def metrics_files(self, tables: list[str] | None = None) -> list[str]:
        return [self.metrics_file(e, s) for e in self.experiments_for(tables) for s in self.settings["seeds"]]

    def speed_file(self, experiment: str) -> str:
        return f"{self.settings['work_root']}/{self.scale}/{experiment}/speed.json"

    def speed_files(self, table: str) -> list[str]:
        """Speed measurements a table shows (Table 5's forward ms, NMS ms, FPS)."""
        if table not in self.tables:
            return []
        names = {c.experiment for *_, c in self.cells(table) if c.source == "speed" and c.experiment}
        return [self.speed_file(e) for e in sorted(names)]

    def experiment_args(self, experiment: str, *options: str) -> str:
        """``CONFIG --scale S OPTIONS... [--cfg-options K=V...]``: an experiment on the o2f command line."""
        spec = self.experiments[experiment]
        args = [spec["config"], "--scale", self.scale, *options]
        overrides = spec.get("overrides") or {}
        if overrides:
            args += ["--cfg-options", *(f"{k}={v}" for k, v in overrides.items())]
        return shlex.join(args)

    def speed_command(self, experiment: str) -> str:
        return self.experiment_args(experiment, "--out", self.speed_file(experiment))

    def family(self, experiment: str) -> str:
        """The experiment's config family: which dataset it reads (``coco``, ``crowdhuman``, ``condinst``)."""
        return self.experiments[experiment].get("family", "coco")

    def dataset_inputs(self, experiment: str) -> list[str]:
        """Annotation files the experiment reads: made by the DAG at the built-in scales, the user's at
        full scale (checked by ``check_data_roots`` before any job starts, so not declared)."""
        if not self.scale_settings["builtin_data"]:
            return []
        family = self.family(experiment)
        root = Path(self.scale_settings["datasets"][family])
        return [str(root / name) for name in ANNOTATION_FILES[LAYOUTS.get(family, "coco")]]

    def check_data_roots(self) -> None:
        """At full scale, every dataset the chosen tables read must be there before the DAG starts."""
        if self.scale_settings["builtin_data"]:
            return
        for family in sorted({self.family(e) for e in self.experiments_for()}):
            root = self.scale_settings["datasets"][family]
            if not (self.root / root).exists():
                raise O2FError(f"dataset root {root} does not exist; download the dataset there (see README) "
                               f"or set scales.{self.scale}.datasets.{family} in configs/pipeline.yaml")

    def rows_using(self, experiment: str) -> str:
        """"table:row" of every table cell that shows this experiment (an MLflow tag)."""
        found: dict[str, None] = {}
        for table in self.tables:
            for row, _, cell in self.cells(table):
                if cell.experiment == experiment:
                    found.setdefault(f"{table}:{row}")
        return ";".join(found)

    def train_command(self, experiment: str, seed: int) -> str:
        """The ``o2f train`` arguments of one job (config, scale, overrides, MLflow run and tags)."""
        return self.experiment_args(
            experiment, "--work-dir", self.work_dir(experiment, seed), "--seed", str(seed),
            "--mlflow-uri", self.settings["mlflow"]["tracking_uri"],
            "--mlflow-experiment", self.settings["mlflow"]["experiment"], "--run-name", f"{experiment}-seed{seed}",
            "--tag", f"experiment={experiment}", "--tag", f"tables={self.tables_using(experiment)}",
            "--tag", f"rows={self.rows_using(experiment)}")

    def tables_using(self, experiment: str) -> str:
        return ",".join(t for t in [*self.tables, *self.figures] if experiment in self.experiments_for([t]))
