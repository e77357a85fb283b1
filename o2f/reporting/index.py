"""``reports/index.html``: every table and figure on one static page, with where it came from."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from ..pipeline.tracking import git_commit

CLAIM_COLUMNS = ["id", "claim", "holds if", "paper", "ours (mean)", "95% interval", "seed-only t", "n", "verdict",
                 "after Holm"]  # the last is the headline, coloured
VERDICT_COLOURS = {"holds": "#d9f2d9", "not resolved": "#fff3c4", "contradicted": "#f8d0d0", "not run": "#eee"}


def source_link(source: str, shown: tuple[str, ...]) -> str:
    """A link to a table or figure on the page, or its name and that it is not rendered."""
    name = html.escape(source)
    return f"<a href='#{name}'>{name}</a>" if source in shown else f"{name} (not rendered)"


def claim_sources_note(sources: dict[str, tuple[str, ...]], shown: tuple[str, ...]) -> str:
    """Every table and figure the claims read: a link where rendered, else the setting that renders it."""
    used = list(dict.fromkeys(s for names in sources.values() for s in names))
    if not used:
        return ""
    links = " · ".join(source_link(s, shown) for s in used)
    missing = [s for s in used if s not in shown]
    hint = (f" Not rendered at this configuration: add <code>tables=[{html.escape(','.join([*shown, *missing]))}]"
            "</code> (snakemake <code>--config</code>) to render them." if missing else "")
    return f"<p>The claims read: {links}.{hint}</p>"


def claims_section(csv: Path, sources: dict[str, tuple[str, ...]] | None = None,
                   shown: tuple[str, ...] = ()) -> list[str]:
    """"Does the paper hold?": one row per claim, its verdict coloured; with ``sources`` (claim id -> the
    tables and figures it reads) a column links each to its table on the page."""
    from .claims import METHOD_NOTE, read_apart, verdict_counts

    frame = pd.read_csv(csv, keep_default_na=False, dtype=str)
    columns = CLAIM_COLUMNS[:-1] + (["from"] if sources is not None else [])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [*columns, CLAIM_COLUMNS[-1]])
    rows = []
    for _, claim in frame.iterrows():
        cells = "".join(f"<td>{html.escape(str(claim[c]))}</td>" for c in CLAIM_COLUMNS[:-1])
        if sources is not None:
            cells += f"<td>{', '.join(source_link(s, shown) for s in sources.get(str(claim['id']), ()))}</td>"
        colour = VERDICT_COLOURS.get(claim[CLAIM_COLUMNS[-1]], "#fff")
        note = f" title='{html.escape(claim['note'])}'" if claim.get("note") else ""
        verdict = f"<td style='background:{colour}'{note}><b>{html.escape(claim[CLAIM_COLUMNS[-1]])}</b></td>"
        rows.append(f"<tr>{cells}{verdict}</tr>")
    return ["<h2 id='claims'>Does the paper hold?</h2>",
            f"<p>After Holm's correction: {html.escape(verdict_counts(frame, CLAIM_COLUMNS[-1]))} (unadjusted: "
            f"{html.escape(verdict_counts(frame))}{html.escape(read_apart(frame))}). {html.escape(METHOD_NOTE)} "
            "Per-seed values and notes: <a href='claims.csv'>claims.csv</a>.</p>",
            claim_sources_note(sources or {}, shown),
            f"<table><tr>{head}</tr>{''.join(rows)}</table>"]


def forest_plot(png: Path | None, folder: Path) -> list[str]:
    """The claims' forest plot (``claims_plot.plot_claims``), where it was drawn."""
    if png is None or not (folder / png).exists():
        return []
    alt = html.escape("Every claim: our interval, the paper's value and the verdict")
    return [f"<img id='claims-plot' src='{html.escape(str(png))}' alt='{alt}' style='max-width:100%'>"]


def contents(names: dict[str, str]) -> str:
    """Links to every table and figure on the page (name -> title)."""
    links = " · ".join(f"<a href='#{html.escape(n)}' title='{html.escape(t)}'>{html.escape(n)}</a>"
                       for n, t in names.items())
    return f"<p>On this page: {links}</p>" if links else ""


def scale_setting(descriptions: dict[str, str]) -> str:
    """What ran at this scale, per config family (``scale_label.scale_description``)."""
    if not descriptions:
        return ""
    items = "".join(f"<li>{html.escape(family)} configs: {html.escape(text)}</li>"
                    for family, text in descriptions.items())
    return f"<p>What ran at this scale (not the paper's setting):</p><ul>{items}</ul>"


def render_index(tables: dict[str, tuple[str, Path]], figures: dict[str, tuple[str, Path]], out: Path,
                 scale: str, devices: list[str], root: Path, claims: Path | None = None,
                 claims_png: Path | None = None, claim_sources: dict[str, tuple[str, ...]] | None = None,
                 scale_descriptions: dict[str, str] | None = None) -> Path:
    """``tables``/``figures``: name -> (title, CSV or PNG path relative to ``out``'s folder); ``claims``:
    the claims CSV (relative too), shown first, after ``claims_png`` (their forest plot) where it exists;
    ``claim_sources``: claim id -> the tables and figures it reads, linked; ``scale_descriptions``: config
    family -> what ran at this scale."""
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
        f"git commit: <code>{html.escape(git_commit(root))}</code></p>",  # no clock time: a re-render is identical
        scale_setting(scale_descriptions or {}),
        contents({**({"claims": "Does the paper hold?"} if claims is not None else {}),
                  **{n: t for n, (t, _) in {**tables, **figures}.items()}}),
        *forest_plot(claims_png, out.parent),
    ]
    if claims is not None:
        parts += claims_section(out.parent / claims, claim_sources, (*tables, *figures))
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
