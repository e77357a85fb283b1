"""Paper tables with our numbers.

At ``full`` scale (the paper's data and models) each cell reads "ours / paper (ours - paper)". At the
other scales the absolute numbers are not comparable with COCO's, so a cell gives our mean +- std
over the seeds that finished, with n, and the difference to the table's reference cell (FCOS with NMS
in Table 5), ours beside the paper's: that difference is what travels across datasets. The CSV also
keeps every seed's value.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ..pipeline.plan import Cell, Plan
from ..run_kinds import kinds_text
from .results import Results, Value
from .scale_label import COMPARABLE_SCALE, report_title

FULL_NOTE = "Cells: ours / paper (ours - paper), in % (speed: ms and FPS)."
SEED_COLUMN = re.compile(r" \[seed \d+\]$")  # "AP(1x) [seed 0]": per-seed columns of the CSV


def fmt_delta(ours: Value, paper: float) -> str:
    return f"{ours.mean - paper:+.1f}"


def split_paper(paper, nms) -> list[float | None]:
    """Paper values of a cell: "38.4/38.7" (w/o, w/ NMS) for ``nms: both``, else one number."""
    if paper is None:
        return [None, None] if nms == "both" else [None]
    if nms == "both":
        return [float(v) for v in str(paper).split("/")]
    return [float(paper)]


def variants(cell: Cell) -> list[bool]:
    return [False, True] if cell.nms == "both" else [bool(cell.nms)]


def cell_values(results: Results, cell: Cell) -> list[Value]:
    """Our value of each NMS variant the cell shows."""
    return [results.cell_value(cell.experiment, cell.metric, nms, cell.source) for nms in variants(cell)]


def cell_text(results: Results, cell: Cell) -> str:
    """"ours / paper (delta)"; with ``nms: both`` each part reads "w/o NMS/w/ NMS"."""
    ours = cell_values(results, cell)
    papers = split_paper(cell.paper, cell.nms)
    paper_text = "/".join("–" if p is None else f"{p:.1f}" for p in papers)
    if cell.experiment is None:
        return f"{cell.missing} / {paper_text}"
    if any(v.mean is None for v in ours):
        return f"not finished / {paper_text}"
    ours_text = "/".join(v.text() for v in ours)
    if any(p is None for p in papers):
        return f"{ours_text} / {paper_text}"
    deltas = "/".join(fmt_delta(v, p) for v, p in zip(ours, papers, strict=True))
    return f"{ours_text} / {paper_text} ({deltas})"


def spread_text(values: list[Value]) -> str:
    """"14.3 ± 0.4 (n=3)"; one seed: "14.3 (n=1)"; both NMS variants: "38.1 ± 0.2/38.9 ± 0.1 (n=3)"."""
    means = "/".join(f"{v.mean:.1f}" if v.n == 1 else f"{v.mean:.1f} ± {v.std:.1f}" for v in values)
    counts = "/".join(dict.fromkeys(str(v.n) for v in values))
    return f"{means} (n={counts})"


def differences(values: list[float | None], references: list[float | None]) -> str:
    if len(references) == 1:
        references = references * len(values)
    return "/".join("–" if v is None or r is None else f"{v - r:+.1f}"
                    for v, r in zip(values, references, strict=True))


def relative_text(results: Results, cell: Cell, reference: Cell | None) -> str:
    """Mean ± std (n) and the difference to the reference cell, ours (paper's); ``reference`` is
    None when the table has none, ``cell`` itself for the reference cell."""
    if cell.experiment is None:
        return cell.missing
    ours = cell_values(results, cell)
    if any(v.mean is None for v in ours):
        return "not finished"
    text = spread_text(ours)
    if reference is None:
        return text
    if reference is cell:
        return f"{text}; reference"
    theirs = cell_values(results, reference) if reference.experiment else []
    ours_delta = differences([v.mean for v in ours], [v.mean for v in theirs] or [None])
    paper_delta = differences(split_paper(cell.paper, cell.nms), split_paper(reference.paper, reference.nms))
    return f"{text}; Δ {ours_delta} (paper {paper_delta})"


def seed_text(results: Results, cell: Cell, seed: int) -> str:
    """One seed's value of a metric cell ("" when that seed did not finish)."""
    found = [results.seed_values(cell.experiment, cell.metric, nms).get(seed) for nms in variants(cell)]
    return "" if any(v is None for v in found) else "/".join(f"{v:.2f}" for v in found)


def failed_seeds(results: Results, cell: Cell) -> dict[int, str]:
    """The seeds of a metric cell's runs that the failed-run rule flags (o2f/failed_run.py), and why."""
    if cell.source != "metrics" or not cell.experiment:
        return {}
    return results.failed(cell.experiment)


def with_failures(text: str, failed: dict[int, str]) -> str:
    """A cell that keeps a failed run says so: "37.5 ± 21.5 (n=3); failed: seed 2"."""
    return f"{text}; failed: seed {', '.join(str(s) for s in sorted(failed))}" if failed else text


def runs_note(plan: Plan, results: Results, table: str) -> str:
    """Where the table's runs came from (each kind: processor and precision) and which of them the failed-run
    rule flags and why (their cells keep them and say so)."""
    metric_cells = [cell for *_, cell in plan.cells(table) if cell.source == "metrics" and cell.experiment]
    kinds = [kind for cell in metric_cells for kind in results.kinds(cell.experiment).values()]
    note = f" Runs from: {kinds_text(kinds)}." if kinds else ""
    flagged = {(cell.experiment, seed): why
               for cell in metric_cells for seed, why in failed_seeds(results, cell).items()}
    if flagged:
        runs = "; ".join(f"{experiment} seed {seed}: {why}" for (experiment, seed), why in sorted(flagged.items()))
        note += f" Failed runs (o2f/failed_run.py), kept in their cells: {runs}."
    return note


def table_frame(plan: Plan, results: Results, table: str, seeds: bool = False) -> pd.DataFrame:
    """The table laid out like the paper: its rows and columns, every cell as the scale calls for;
    ``seeds`` adds a column per seed and metric column ("AP(1x) [seed 0]")."""
    spec = plan.tables[table]
    labels = spec.get("labels", [])
    columns = spec["columns"]
    grid = [cell for *_, cell in plan.cells(table)]
    reference = plan.references.get(table)
    records: dict[int, dict] = {}
    for i, row in enumerate(spec["rows"]):
        record = {"Method": row["name"], **{label: row.get(label, "") for label in labels}}
        for j, column in enumerate(columns):
            cell = grid[i * len(columns) + j]
            if plan.scale == COMPARABLE_SCALE:
                text = cell_text(results, cell)
            else:
                ref = None if reference is None else grid[(i if reference[0] is None else reference[0]) * len(columns)
                                                          + (j if reference[1] is None else reference[1])]
                text = relative_text(results, cell, ref)
            record[column["name"]] = with_failures(text, failed_seeds(results, cell))
        if seeds:
            for j, column in enumerate(columns):
                cell = grid[i * len(columns) + j]
                if cell.source == "metrics" and cell.experiment:
                    for seed in plan.settings["seeds"]:
                        record[f"{column['name']} [seed {seed}]"] = seed_text(results, cell, seed)
        records[i] = record
    return pd.DataFrame.from_dict(records, orient="index").fillna("")


def table_title(plan: Plan, table: str) -> str:
    """The table's title at the plan's scale: the paper's at ``full``, else what ran, then the paper's setting."""
    return report_title(plan, table)


def cells_note(plan: Plan, table: str) -> str:
    """What the cells of a table say, at the plan's scale."""
    if plan.scale == COMPARABLE_SCALE:
        return FULL_NOTE
    timed = any(c.source == "speed" for *_, c in plan.cells(table))
    note = "Cells: our mean ± std over the seeds that finished (n), in %" + (
        " (speed: ms and FPS, one measurement)" if timed else "")
    selector = plan.tables[table].get("reference")
    if not selector:
        return note + "."
    named = ", ".join(str(v) if k in ("row", "column") else f"{k} {v}" for k, v in selector.items())
    where = (" in the same column" if "column" not in selector else " in the same row" if "row" not in selector
             else "")
    return (f"{note}; Δ: the cell minus the reference cell ({named}){where}, ours and (the paper's). At this "
            "scale the differences, not the values, compare with the paper.")


def write_table(frame: pd.DataFrame, title: str, out_stem: Path, scale: str,
                speed_devices: list[str] = (), note: str = "") -> list[Path]:
    """CSV (with the per-seed columns), Markdown and LaTeX (without) of one table."""
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    note = f"{title} Scale: {scale}. {note or FULL_NOTE}"
    if speed_devices:
        note += f" Our speed measured on {', '.join(speed_devices)}; the paper's on a Tesla V100."
    paths = [out_stem.with_suffix(s) for s in (".csv", ".md", ".tex")]
    frame.to_csv(paths[0], index=False)
    shown = display(frame)
    paths[1].write_text(f"**{note}**\n\n{shown.to_markdown(index=False)}\n")
    latex = shown.to_latex(index=False, caption=note, label=f"tab:{out_stem.name}")
    paths[2].write_text(latex)
    return paths


def display(frame: pd.DataFrame) -> pd.DataFrame:
    """The table without its per-seed columns."""
    return frame[[c for c in frame.columns if not SEED_COLUMN.search(str(c))]]
