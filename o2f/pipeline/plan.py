"""The experiment plan behind the DAG and the reports, read from ``configs/tables.yaml``.

An *experiment* (a config plus overrides) is trained once per seed however many table cells show
it; a *cell* names the experiment, the metric and the NMS variant it displays.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import yaml

from ..errors import O2FError, check_known
from .evidence_kinds import EvidenceKinds
from .expression import Expression
from .layout import ROOT, Layout, config_family, load_settings

NMS_VARIANTS = {True: "nms", False: "nonms"}
CLAIMS = "claims"  # in the DAG's `tables`: train what every claim needs
INDEX = "index"  # the index page, for ``Plan.report_digest``
WHERE_SETTINGS = ("work_root", "evidence_dir", "mlflow")  # where a job writes: not what it trains
# The shape of configs/tables.yaml: its parts, then the claims' and references' details.
SCHEMAS = [ROOT / "workflow" / "schemas" / f"{name}.schema.yaml" for name in ("tables", "claims")]
# What a table row may hold besides the table's labels (a cell's fields, the paper's values).
ROW_FIELDS = ("name", "paper", "experiment_by_column", "metric", "nms", "schedule", "source", "experiment",
              "experiments")
# ``holds_if`` operators: the side of the threshold that supports a claim.
SIDES = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Job:
    """An experiment's job at one scale (a training when it has a seed): resolved from the plan in one place,
    so the DAG hands a job its identity only (``o2f train --experiment NAME --seed S --scale X``)."""

    experiment: str | None  # None: a config of the user's own, outside the plan
    seed: int | None
    scale: str
    config: str
    overrides: dict
    work_dir: str | None
    run_name: str
    tags: dict[str, str]
    evidence_dir: str | None = None  # a finished run's, under the kind it ran on (None: not finished here)
    speed_file: str | None = None
    all_epochs: bool = False  # a figure draws it per epoch: its evidence keeps every epoch's detections


@dataclass(frozen=True)
class Cell:
    experiment: str | None  # None: see ``missing``
    metric: str
    nms: bool | str  # True, False or "both" (shown as "without / with")
    paper: object
    missing: str = ""  # why there is no experiment: "not implemented" or "not run at this scale"
    source: str = "metrics"  # "metrics" (COCO, from training) or "speed" (the speed benchmark)


@dataclass(frozen=True)
class CellRef:
    """A value a claim reads: an experiment's metric, with or without NMS, after the last epoch (a
    table cell) or per epoch (``curve``: a figure's line)."""

    experiment: str | None  # None: see ``missing``
    metric: str
    nms: bool
    curve: bool = False
    missing: str = ""
    paper: object = None  # the paper's value of this cell (a number, or text where the paper prints a pair)
    map_epoch: str = ""  # a score-map figure's measure (``metric``) after the "first" or "last" epoch
    source: str = "metrics"  # as Cell's: "speed" reads the speed benchmark, one measurement, no seed


@dataclass(frozen=True)
class Claim:
    """One of the paper's conclusions as a comparison over cells, the paper's value of it and the
    side of ``threshold`` that supports it."""

    id: str
    text: str
    cells: dict[str, CellRef]
    comparison: Expression
    paper: float | None
    side: str  # a key of SIDES
    threshold: float
    sources: tuple[str, ...]  # the tables and figures it draws on
    digits: int = 1
    paper_note: str = ""
    experiments: tuple[str, ...] = ()  # the runs it reads
    relative_to: str | None = None  # the cell a cross-data-set effect is read as a share of
    beyond_paper: bool = False  # a question the paper does not ask: tested, but not counted as the paper's

    @property
    def holds_if(self) -> str:
        return f"{self.side} {self.threshold:g}"

    @property
    def runnable(self) -> bool:
        """Every cell names a run (one without reads "not implemented" or "not run at this scale")."""
        return all(cell.experiment for cell in self.cells.values())

    @property
    def timed(self) -> bool:
        """A claim on speed: one measurement with no seed (the plan keeps its cells apart from metrics)."""
        return all(cell.source == "speed" for cell in self.cells.values())


def load_yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise O2FError(f"cannot read {path}: {err}") from err


def check_schema(spec: dict) -> None:
    """configs/tables.yaml's shape (workflow/schemas/tables.schema.yaml, claims.schema.yaml), as one line."""
    import jsonschema

    for path in SCHEMAS:
        validator = jsonschema.Draft202012Validator(load_yaml(path))
        error = jsonschema.exceptions.best_match(validator.iter_errors(spec))
        if error is not None:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
            raise O2FError(f"configs/tables.yaml: {where or 'top level'}: {error.message}")


def _placeholder(cell: CellRef):
    """A stand-in value of a cell's kind, to check a comparison's shape at load."""
    import pandas as pd

    return pd.Series([1.0, 2.0], index=[1, 2]) if cell.curve else 1.0


class Plan:
    """Tables, experiments and paths for one DAG configuration (``configs/pipeline.yaml``)."""

    def __init__(self, spec: dict, settings: dict, root: Path | None = None) -> None:
        settings = {**settings, "seeds": [int(seed) for seed in settings["seeds"]]}  # "0" from --config
        self.spec, self.settings, self.root = spec, settings, root or Path.cwd()
        self.scale = settings["scale"]
        self.experiments = spec["experiments"]
        self.tables = spec["tables"]
        self.figures = spec.get("figures", {})
        self.layout = Layout(settings, self.scale)
        self.scale_settings = self.layout.scale_settings
        check_schema(spec)
        for table in self.tables:
            self.check_rows(table)
            self.cells(table)  # names an unknown experiment or a cell without a metric now, not in a job
        for figure, shown in self.figures.items():
            for experiment in [c["experiment"] for c in shown.get("curves", [])] + shown.get("experiments", []):
                if experiment not in self.experiments:
                    raise O2FError(f"{figure} names unknown experiment '{experiment}'")
        self.references = {table: self.reference_cell(table) for table in self.tables}
        self.claims = [self.claim(entry) for entry in spec.get("claims") or []]
        ids = [claim.id for claim in self.claims]
        if len(set(ids)) < len(ids):
            raise O2FError(f"claim {next(i for i in ids if ids.count(i) > 1)}: the id is used twice")
        self.selected_claims = self.select_claims([str(i) for i in settings.get("claims", ["all"])])
        known = [*self.tables, *self.figures, CLAIMS]  # CLAIMS: the runs of every claim, not whole tables
        if settings["tables"] == ["all"]:
            settings = {**settings, "tables": known}
            self.settings = settings
        check_known(settings["tables"], known, "table")
        for name, experiment in self.experiments.items():
            if not (self.root / experiment["config"]).exists():
                raise O2FError(f"experiment {name}: config {experiment['config']} does not exist")

    @classmethod
    def from_files(cls, tables_file: str | Path, settings: dict, root: Path | None = None) -> Plan:
        return cls(load_yaml(Path(tables_file)), settings, root)

    # --- what to run -------------------------------------------------------------------------
    def schedule_runs(self, schedule: str) -> bool:
        return schedule in self.scale_settings["schedules"]

    def check_rows(self, table: str) -> None:
        """A row's keys are a cell's fields or the table's labels: a typo is named, not shown as a label."""
        labels = self.tables[table].get("labels", [])
        for row in self.tables[table]["rows"]:
            stray = [key for key in row if key not in ROW_FIELDS and key not in labels]
            if stray:
                raise O2FError(f"{table}: row {row['name']} has unknown key '{stray[0]}' (the table's labels: "
                               f"{', '.join(labels) or 'none'})")

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
                if "metric" not in merged:
                    raise O2FError(f"{table}: row {row['name']}, column {column['name']} has no metric (give one "
                                   "in the table's cell, the column or the row)")
                paper = row.get("paper", {}).get(column["name"])
                out.append((row["name"], column["name"], Cell(experiment, merged["metric"], merged.get("nms", False),
                                                               paper, missing, merged.get("source", "metrics"))))
        return out

    def experiments_for(self, tables: list[str] | None = None) -> list[str]:
        """Experiments behind the given tables, each once, in first-use order."""
        seen: dict[str, None] = {}
        for table in tables or self.settings["tables"]:
            if table == CLAIMS:
                seen.update(dict.fromkeys(e for claim in self.selected_claims for e in claim.experiments))
                continue
            if table in self.figures:
                figure = self.figures[table]
                for experiment in [c["experiment"] for c in figure.get("curves", [])] + figure.get("experiments", []):
                    seen.setdefault(experiment)
                continue
            for *_, cell in self.cells(table):
                if cell.experiment:
                    seen.setdefault(cell.experiment)
        return list(seen)

    # --- claims and reference cells -----------------------------------------------------------
    def find_cell(self, table: str, selector: dict, where: str) -> tuple[list[int], list[int]]:
        """Indices of the rows and columns of ``table`` a selector names (by row name, the table's
        labels and column name; a part left out matches every row or column)."""
        spec = self.tables[table]
        labels = spec.get("labels", [])
        stray = [k for k in selector if k not in ("table", "row", "column", "metric", "nms", *labels)]
        if stray:
            raise O2FError(f"{where}: {table} has no label '{stray[0]}' (labels: {', '.join(labels) or 'none'})")
        picked = {k: str(v) for k, v in selector.items() if k in labels}
        rows = [i for i, row in enumerate(spec["rows"]) if selector.get("row", row["name"]) == row["name"]
                and all(str(row.get(k, "")) == v for k, v in picked.items())]
        if not rows:
            named = " ".join([selector.get("row", ""), *(f"{k}={v}" for k, v in picked.items())]).strip()
            raise O2FError(f"{where}: {table} has no row '{named}' (rows: "
                           f"{', '.join(dict.fromkeys(r['name'] for r in spec['rows']))})")
        columns = [j for j, column in enumerate(spec["columns"])
                   if selector.get("column", column["name"]) == column["name"]]
        if not columns:
            raise O2FError(f"{where}: {table} has no column '{selector['column']}' "
                           f"(columns: {', '.join(c['name'] for c in spec['columns'])})")
        return rows, columns

    def reference_cell(self, table: str) -> tuple[int | None, int | None] | None:
        """(row, column) index of the table's reference cell; None for the part that follows the cell
        it is compared with (a reference row serves every column)."""
        selector = self.tables[table].get("reference")
        if not selector:
            return None
        rows, columns = self.find_cell(table, selector, f"{table}'s reference")
        if "row" in selector and len(rows) > 1:
            raise O2FError(f"{table}'s reference names {len(rows)} rows; add the table's labels to pick one")
        return (rows[0] if "row" in selector else None), (columns[0] if "column" in selector else None)

    def metrics_shown(self) -> set[str]:
        """Every metric a table or figure shows: the names a claim may use."""
        shown = {cell.metric for table in self.tables for *_, cell in self.cells(table)}
        return shown | {figure["metric"] for figure in self.figures.values() if "metric" in figure}

    def claim_cell(self, where: str, selector: dict) -> tuple[CellRef, str]:
        """A claim's cell and the table or figure it comes from."""
        metric = selector.get("metric")
        if metric is not None and metric not in self.metrics_shown():
            raise O2FError(f"{where}: unknown metric '{metric}' (the tables show "
                           f"{', '.join(sorted(self.metrics_shown()))})")
        if "figure" in selector and "measure" in selector:
            figure = selector["figure"]
            spec = self.figures.get(figure, {})
            if spec.get("kind") != "score_maps":
                raise O2FError(f"{where}: no figure '{figure}' of score maps in configs/tables.yaml")
            return CellRef(spec["experiments"][0], selector["measure"], False, map_epoch=selector["epoch"]), figure
        if "figure" in selector:
            figure = selector["figure"]
            curves = {c["name"]: c["experiment"] for c in self.figures.get(figure, {}).get("curves", [])}
            if not curves:
                raise O2FError(f"{where}: no figure '{figure}' with curves in configs/tables.yaml")
            if selector["curve"] not in curves:
                raise O2FError(f"{where}: {figure} has no curve '{selector['curve']}' (curves: {', '.join(curves)})")
            return CellRef(curves[selector["curve"]], metric or self.figures[figure]["metric"], selector["nms"],
                           curve=True), figure
        table = selector["table"]
        if table not in self.tables:
            raise O2FError(f"{where}: no table '{table}' in configs/tables.yaml (tables: {', '.join(self.tables)})")
        rows, (column,) = self.find_cell(table, selector, where)
        cells = self.cells(table)
        width = len(self.tables[table]["columns"])
        found = [cells[row * width + column][2] for row in rows]
        nms = {selector.get("nms", cell.nms) for cell in found}
        if len({cell.experiment for cell in found}) > 1 or len(nms) > 1:
            raise O2FError(f"{where}: {table} has {len(rows)} rows named '{selector['row']}'; add the table's "
                           f"labels ({', '.join(self.tables[table].get('labels', []))}) to pick one")
        nms = nms.pop()
        cell = next((c for c in found if c.nms == nms), found[0])  # FCOS's two rows: the one showing this variant
        if nms not in (True, False):
            raise O2FError(f"{where}: {table} shows both NMS variants; give the cell nms: true or false")
        return CellRef(cell.experiment, metric or cell.metric, nms, missing=cell.missing, paper=cell.paper,
                       source=cell.source), table

    def claim(self, entry: dict) -> Claim:
        """A claim of ``configs/tables.yaml``, its cells found in the tables and its comparison checked."""
        where = f"claim {entry['id']}"
        found = {name: self.claim_cell(f"{where}, cell {name}", selector) for name, selector in entry["cells"].items()}
        cells = {name: cell for name, (cell, _) in found.items()}
        if len({cell.source == "speed" for cell in cells.values()}) > 1:
            raise O2FError(f"{where}: compares a speed measurement with a metric per seed")
        try:
            comparison = Expression(entry["comparison"])
            strays = [name for name in comparison.names if name not in cells]
            if strays:
                raise O2FError(f"comparison '{comparison.text}' reads '{strays[0]}', which is not one of its "
                               f"cells ({', '.join(cells)})")
            unused = [name for name in cells if name not in comparison.names]
            if unused:
                raise O2FError(f"cell '{unused[0]}' is not used by the comparison '{comparison.text}'")
            comparison.evaluate({name: _placeholder(cell) for name, cell in cells.items()})
        except ZeroDivisionError as err:
            raise O2FError(f"{where}: comparison '{entry['comparison']}' divides by zero") from err
        except O2FError as err:
            raise O2FError(f"{where}: {err}") from err
        side, threshold = self.holds_if(entry["holds_if"])
        relative_to = entry.get("relative_to")
        if relative_to is not None and relative_to not in cells:
            raise O2FError(f"{where}: relative_to names '{relative_to}', which is not one of its cells "
                           f"({', '.join(cells)})")
        return Claim(str(entry["id"]), entry["claim"].strip(), cells, comparison, entry["paper"], side,
                     threshold, tuple(dict.fromkeys(source for _, source in found.values())),
                     entry.get("digits", 1), entry.get("paper_note", ""),
                     tuple(dict.fromkeys(c.experiment for c in cells.values() if c.experiment)), relative_to,
                     bool(entry.get("beyond_paper", False)))

    def holds_if(self, text: str) -> tuple[str, float]:
        """A claim's side and threshold: "> 0", "< 1", ">= 0.985"."""
        side, threshold = re.fullmatch(r"(>=|<=|>|<) *(-?[0-9.]+)", text.strip()).groups()
        return side, float(threshold)

    def select_claims(self, ids: list[str]) -> list[Claim]:
        """The claims whose runs ``tables=[claims]`` trains: ``all``, or the listed ids."""
        if ids == ["all"]:
            return self.claims
        check_known(ids, [claim.id for claim in self.claims], "claim")
        return [claim for claim in self.claims if claim.id in ids]

    def claims_on_configured_runs(self) -> list[Claim]:
        """The claims on trained runs that the configured tables cover: each reads its runs at each seed from
        one kind (o2f.pipeline.evidence_kinds); a claim they cover in part reads "not run" and reads nothing."""
        configured = set(self.experiments_for())
        return [claim for claim in self.claims
                if not claim.timed and claim.runnable and set(claim.experiments) <= configured]

    def claim_evidence_files(self) -> list[str]:
        """What the claims report reads: every claim's runs that the configured tables train, and the speed
        measurements of its claims on speed that this DAG makes."""
        configured = set(self.experiments_for())
        runs = dict.fromkeys(tuple(claim.experiments) for claim in self.claims_on_configured_runs())
        measured = self.measured_speed_files()
        timed = dict.fromkeys(f for claim in self.claims if claim.timed and set(claim.experiments) <= configured
                              for f in map(self.speed_file, claim.experiments) if f in measured)
        return [f for claim_runs in runs for f in self.evidence_of_one_kind(claim_runs)] + list(timed)

    def measured_speed_files(self) -> set[str]:
        """The speed measurements this DAG makes: those its tables show and, with ``claims``, those the
        selected claims on speed read."""
        files = {f for table in self.settings["tables"] if table in self.tables for f in self.speed_files(table)}
        if CLAIMS in self.settings["tables"]:
            files |= {self.speed_file(e) for claim in self.selected_claims if claim.timed for e in claim.experiments}
        return files

    # --- what each report reads -----------------------------------------------------------------
    def report_digest(self, name: str) -> str:
        """A digest of what the report ``name`` (a table, a figure, CLAIMS or INDEX) reads from
        ``configs/tables.yaml`` and the settings: a report rule's param, so editing one table's
        paper value re-renders that table (and the index after it) and nothing else."""
        if name == CLAIMS:
            configured = set(self.experiments_for())
            read = [self.spec.get("claims"), [{n: asdict(c) for n, c in claim.cells.items()} for claim in self.claims],
                    sorted(e for claim in self.claims for e in claim.experiments if e in configured)]
        elif name == INDEX:
            read = [[n, {**self.tables, **self.figures}.get(n, {}).get("title")] for n in self.settings["tables"]]
        elif name in self.figures:
            read = self.figures[name]
        else:
            read = [self.tables[name], [[row, column, asdict(cell)] for row, column, cell in self.cells(name)]]
        text = json.dumps([read, self.scale, self.settings["seeds"]], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    # --- paths and commands ------------------------------------------------------------------
    def work_dir(self, experiment: str, seed: int) -> str:
        return self.layout.work_dir(experiment, seed)

    def metrics_file(self, experiment: str, seed: int) -> str:
        return self.layout.metrics_file(experiment, seed)

    def runs(self, tables: list[str] | None = None) -> list[tuple[str, int]]:
        """Every (experiment, seed) the tables read."""
        return [(e, s) for e in self.experiments_for(tables) for s in self.settings["seeds"]]

    def metrics_files(self, tables: list[str] | None = None) -> list[str]:
        return [self.metrics_file(e, s) for e, s in self.runs(tables)]

    def speed_file(self, experiment: str) -> str:
        return self.layout.speed_file(experiment)

    def speed_inputs(self, experiment: str) -> list[str]:
        """The data a speed job times on; none for a measurement that is here while its data is not (committed,
        in a fresh clone): the DAG writing the data for a training must not re-measure it."""
        data = self.dataset_inputs(experiment)
        measured = (self.root / self.speed_file(experiment)).exists()
        return [] if measured and not all((self.root / path).exists() for path in data) else data

    @cached_property
    def kinds(self) -> EvidenceKinds:
        return EvidenceKinds(self)

    def evidence_file(self, experiment: str, seed: int, kind: str) -> str:
        return self.layout.evidence_file(experiment, seed, kind)

    def evidence_of_one_kind(self, experiments) -> list[str]:
        """The evidence of runs one report compares: at each seed, all of them from the first kind that has
        them all, else all from this machine's (o2f.pipeline.evidence_kinds)."""
        return [self.evidence_file(e, s, self.kinds.for_runs(experiments, s) or self.kinds.here(e, s))
                for s in self.settings["seeds"] for e in experiments]

    def evidence_files(self, name: str) -> list[str]:
        """The evidence a table or figure reads (the claims report: ``claim_evidence_files``)."""
        return self.evidence_of_one_kind(self.experiments_for([name]))

    def curve_experiments(self) -> set[str]:
        """Experiments a figure draws per epoch: their evidence keeps every epoch's detections."""
        return {curve["experiment"] for figure in self.figures.values() for curve in figure.get("curves", [])}

    def speed_files(self, table: str) -> list[str]:
        """Speed measurements a table shows (Table 5's forward ms, NMS ms, FPS)."""
        if table not in self.tables:
            return []
        names = {c.experiment for *_, c in self.cells(table) if c.source == "speed" and c.experiment}
        return [self.speed_file(e) for e in sorted(names)]

    def experiment_spec(self, experiment: str) -> dict:
        """The experiment's entry in ``configs/tables.yaml``: its config and overrides."""
        if experiment not in self.experiments:
            raise O2FError(f"unknown experiment '{experiment}' (configs/tables.yaml)")
        spec = self.experiments[experiment]
        return {"config": spec["config"], "overrides": spec.get("overrides") or {}}

    def spec_digest(self, experiment: str) -> str:
        """What a training of the experiment resolves to at this scale (config file, overrides, scale), as a
        digest: a DAG job's param, so an edited override retrains exactly that experiment and nothing else."""
        return spec_digest(self.experiment_spec(experiment), self.scale)

    def trained_elsewhere(self, experiment: str, seed: int, kind: str) -> bool:
        """Whether the run's committed evidence of ``kind`` stands for it: no run of that kind finished in its
        work dir here (a fresh clone, another machine) and the evidence trained the experiment's present spec.
        Then the DAG needs no training for it; evidence of another spec is retrained."""
        return (self.kinds.finished_here(experiment, seed) != kind
                and kind in self.kinds.usable(experiment, seed))

    @staticmethod
    def trained_spec(run: dict | None) -> str | None:
        """The spec digest of what a run's record says it trained (None: not a record)."""
        try:
            return spec_digest({"config": run["config"], "overrides": run.get("overrides") or {}}, run["scale"])
        except (TypeError, KeyError):
            return None

    def job(self, experiment: str, seed: int | None = None) -> Job:
        """One job of the experiment at this scale: what it trains (or times) and where it writes."""
        spec = self.experiment_spec(experiment)
        trained = seed is not None
        finished = self.kinds.finished_here(experiment, seed) if trained else None
        evidence_dir = self.layout.evidence_dir(experiment, seed, finished) if finished else None
        return Job(experiment, seed, self.scale, spec["config"], spec["overrides"],
                   self.work_dir(experiment, seed) if trained else None, f"{experiment}-seed{seed}",
                   self.run_tags(experiment), evidence_dir,
                   self.speed_file(experiment), experiment in self.curve_experiments())

    def family(self, experiment: str) -> str:
        """The experiment's config family: which dataset it reads (``coco``, ``crowdhuman``, ``condinst``)."""
        return config_family(self.root / self.experiments[experiment]["config"])

    def dataset_inputs(self, experiment: str) -> list[str]:
        """Annotation files the experiment reads where the DAG writes them (a built-in dataset); a user's
        dataset is checked by ``check_data_roots`` before any job starts, so not declared."""
        return self.layout.builtin_files(self.family(experiment))

    def check_data_roots(self) -> None:
        """Every user dataset the chosen tables read must be there before the DAG starts."""
        for family in sorted({self.family(e) for e in self.experiments_for()}):
            self.layout.check_user_root(family, self.root)

    def run_tags(self, experiment: str) -> dict[str, str]:
        """The MLflow tags of an experiment's runs: its name and the tables and "table:row" cells that
        show it. Derived from the plan inside the job, so a new table showing a finished run changes
        no job's params and Snakemake retrains nothing."""
        rows: dict[str, None] = {}
        for table in self.tables:
            for row, _, cell in self.cells(table):
                if cell.experiment == experiment:
                    rows.setdefault(f"{table}:{row}")
        tables = [t for t in [*self.tables, *self.figures] if experiment in self.experiments_for([t])]
        return {"experiment": experiment, "tables": ",".join(tables), "rows": ";".join(rows)}


def spec_digest(spec: dict, scale: str) -> str:
    """A digest of an experiment's spec (``{"config", "overrides"}``) at a scale."""
    text = json.dumps([{"config": spec["config"], "overrides": spec["overrides"]}, scale], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def job_plan(scale: str | None = None, root: Path | None = None, where: dict | None = None) -> Plan:
    """The plan as a job reads it: ``configs/tables.yaml`` with ``configs/pipeline.yaml``'s settings from the
    job's working directory, at ``scale`` (default: the settings' own), with ``where`` (the DAG's
    ``work_root``, ``evidence_dir`` and ``mlflow`` as its command line set them) in place of the file's."""
    root = root or Path.cwd()
    settings = load_settings(root)
    unknown = sorted(set(where or {}) - set(WHERE_SETTINGS))
    if unknown:
        raise O2FError(f"--dag-settings may set {', '.join(WHERE_SETTINGS)}, not {', '.join(unknown)}")
    settings = {**settings, **(where or {}), "scale": scale or settings["scale"], "tables": ["all"]}
    return Plan.from_files(root / "configs" / "tables.yaml", settings, root)
