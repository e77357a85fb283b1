"""reports/index.html renders in headless Chromium: the tables' rows and the figures are on the page."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from o2f.reporting.index import render_index

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)"),
              pytest.mark.slow]  # a headless browser


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


def test_index_renders_tables_and_figures(tmp_path, repo_root):
    reports = tmp_path / "reports"
    reports.mkdir()
    pd.DataFrame({"Method": ["FCOS", "Ours-3convs"], "AP(1x)": ["15.8 / 38.6 (-22.8)", "14.9 / 39.0 (-24.1)"]}) \
        .to_csv(reports / "table5.csv", index=False)
    Image.fromarray(np.full((120, 200, 3), (200, 30, 30), np.uint8)).save(reports / "figure5.png")
    page = render_index({"table5": ("Table 5. Comparisons.", Path("table5.csv"))},
                        {"figure5": ("Figure 5. AP vs epoch.", Path("figure5.png"))},
                        reports / "index.html", "demo", ["CPU (x86_64, 2 cores)"], repo_root)

    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "Ours-3convs" in dom and "14.9 / 39.0 (-24.1)" in dom and "Scale: <b>demo</b>" in dom

    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1000,900", page.as_uri())
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    red = ((pixels[:, 0] > 180) & (pixels[:, 1] < 60) & (pixels[:, 2] < 60)).sum()
    assert red > 0.8 * 120 * 200  # the figure image was loaded and drawn
