"""Paper tables with our numbers: each cell shows ours / the paper's (the difference)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..pipeline import Cell, Plan
from .results import Results, Value


def fmt_delta(ours: Value, paper: float) -> str:
    return f"{ours.mean - paper:+.1f}"


def split_paper(paper, nms) -> list[float | None]:
    """Paper values of a cell: "38.4/38.7" (w/o, w/ NMS) for ``nms: both``, else one number."""
    if paper is None:
        return [None, None] if nms == "both" else [None]
    if nms == "both":
        return [float(v) for v in str(paper).split("/")]
    return [float(paper)]


def cell_text(results: Results, cell: Cell) -> str:
    """"ours / paper (delta)"; with ``nms: both`` each part reads "w/o NMS/w/ NMS"."""
    variants = [False, True] if cell.nms == "both" else [bool(cell.nms)]
    read = results.speed if cell.source == "speed" else results.value
    ours = [read(cell.experiment, cell.metric, nms) for nms in variants]
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


def table_frame(plan: Plan, results: Results, table: str) -> pd.DataFrame:
    """The table laid out like the paper: its rows and columns, every cell "ours / paper (delta)"."""
    spec = plan.tables[table]
    labels = spec.get("labels", [])
    records: dict[int, dict] = {}
    cells = iter(plan.cells(table))
    for index, row in enumerate(spec["rows"]):
        record = {"Method": row["name"], **{label: row.get(label, "") for label in labels}}
        for column in spec["columns"]:
            _, _, cell = next(cells)
            record[column["name"]] = cell_text(results, cell)
        records[index] = record
    return pd.DataFrame.from_dict(records, orient="index")


def write_table(frame: pd.DataFrame, title: str, out_stem: Path, scale: str,
                speed_devices: list[str] = ()) -> list[Path]:
    """CSV, Markdown and LaTeX of one table."""
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    note = f"{title} Scale: {scale}. Cells: ours / paper (ours - paper), in % (speed: ms and FPS)."
    if speed_devices:
        note += f" Our speed measured on {', '.join(speed_devices)}; the paper's on a Tesla V100."
    paths = [out_stem.with_suffix(s) for s in (".csv", ".md", ".tex")]
    frame.to_csv(paths[0], index=False)
    paths[1].write_text(f"**{note}**\n\n{frame.to_markdown(index=False)}\n")
    latex = frame.to_latex(index=False, caption=note, label=f"tab:{out_stem.name}")
    paths[2].write_text(latex)
    return paths
