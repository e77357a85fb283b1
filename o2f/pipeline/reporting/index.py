"""``reports/index.html``: every table and figure on one static page, with where it came from."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ..tracking import git_commit

CLAIM_COLUMNS = ["id", "claim", "holds if", "paper", "ours (mean)", "95% interval", "n", "verdict"]
VERDICT_COLOURS = {"holds": "#d9f2d9", "not resolved": "#fff3c4", "contradicted": "#f8d0d0", "not run": "#eee"}


def claims_section(csv: Path) -> list[str]:
    """"Does the paper hold?": one row per claim, its verdict coloured."""
    from .claims import METHOD_NOTE, verdict_counts

    frame = pd.read_csv(csv, keep_default_na=False, dtype=str)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in CLAIM_COLUMNS)
    rows = []
    for _, claim in frame.iterrows():
        cells = "".join(f"<td>{html.escape(str(claim[c]))}</td>" for c in CLAIM_COLUMNS[:-1])
        colour = VERDICT_COLOURS.get(claim["verdict"], "#fff")
        note = f" title='{html.escape(claim['note'])}'" if claim.get("note") else ""
        verdict = f"<td style='background:{colour}'{note}><b>{html.escape(claim['verdict'])}</b></td>"
        rows.append(f"<tr>{cells}{verdict}</tr>")
    return ["<h2 id='claims'>Does the paper hold?</h2>",
            f"<p>{html.escape(verdict_counts(frame))}. {html.escape(METHOD_NOTE)} "
            "Per-seed values and notes: <a href='claims.csv'>claims.csv</a>.</p>",
            f"<table><tr>{head}</tr>{''.join(rows)}</table>"]


def render_index(tables: dict[str, tuple[str, Path]], figures: dict[str, tuple[str, Path]], out: Path,
                 scale: str, devices: list[str], root: Path, claims: Path | None = None) -> Path:
    """``tables``/``figures``: name -> (title, CSV or PNG path relative to ``out``'s folder); ``claims``:
    the claims CSV (relative too), shown first."""
    from .tables import COMPARABLE_SCALE, display

    cells = ("Cells: ours / paper (ours − paper), in %." if scale == COMPARABLE_SCALE else
             "Cells: our mean ± std over the seeds that finished (n), in %, and Δ, the difference to the "
             "table's reference cell (FCOS with NMS in Tables 5-8), ours and (the paper's): the paper's numbers "
             "are COCO/CrowdHuman at full scale, so at this scale only the differences compare.")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>o2f reproduction report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:640px}</style></head><body>",
        "<h1>One-to-Few label assignment: reproduction report</h1>",
        f"<p>Scale: <b>{html.escape(scale)}</b> · device: {html.escape(', '.join(devices) or 'unknown')} · "
        f"git commit: <code>{html.escape(git_commit(root))}</code> · generated "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</p>",
    ]
    if claims is not None:
        parts += claims_section(out.parent / claims)
    parts.append(f"<p>{html.escape(cells)}</p>")
    for name, (title, csv) in tables.items():
        frame = display(pd.read_csv(out.parent / csv, keep_default_na=False))
        parts += [f"<h2 id='{name}'>{html.escape(title)}</h2>", frame.to_html(index=False, border=0)]
    for name, (title, png) in figures.items():
        parts += [f"<h2 id='{name}'>{html.escape(title)}</h2>",
                  f"<img src='{html.escape(str(png))}' alt='{html.escape(title)}'>"]
    parts.append("</body></html>")
    out.write_text("\n".join(parts))
    return out
