"""``reports/index.html``: every table and figure on one static page, with where it came from."""

from __future__ import annotations

import html
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd


def git_commit(root: Path) -> str:
    done = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def render_index(tables: dict[str, tuple[str, Path]], figures: dict[str, tuple[str, Path]], out: Path,
                 scale: str, devices: list[str], root: Path) -> Path:
    """``tables``/``figures``: name -> (title, CSV or PNG path relative to ``out``'s folder)."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>o2f reproduction report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;"
        "font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:640px}</style></head><body>",
        "<h1>One-to-Few label assignment: reproduction report</h1>",
        f"<p>Scale: <b>{html.escape(scale)}</b> · device: {html.escape(', '.join(devices) or 'unknown')} · "
        f"git commit: <code>{html.escape(git_commit(root))}</code> · generated "
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}</p>",
        "<p>Cells: ours / paper (ours − paper), in %. The paper's numbers are COCO/CrowdHuman at full "
        "scale; at the demo scale only the trends are comparable.</p>",
    ]
    for name, (title, csv) in tables.items():
        frame = pd.read_csv(out.parent / csv, keep_default_na=False)
        parts += [f"<h2 id='{name}'>{html.escape(title)}</h2>", frame.to_html(index=False, border=0)]
    for name, (title, png) in figures.items():
        parts += [f"<h2 id='{name}'>{html.escape(title)}</h2>",
                  f"<img src='{html.escape(str(png))}' alt='{html.escape(title)}'>"]
    parts.append("</body></html>")
    out.write_text("\n".join(parts))
    return out
