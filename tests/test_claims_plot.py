"""The claims' forest plot: its size, byte-identical reruns, a claim without values, and its place on the index."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image

from o2f.reporting.claims_plot import plot_claims
from o2f.reporting.index import render_index

ROWS = [  # two units; claim 13a was not run: no mean, no interval
    dict(id="1", label="Without NMS, FCOS keeps less than half of its AP with NMS.", mean=0.51, low=0.50, high=0.53,
         seed_low=0.49, seed_high=0.54, paper=0.46, verdict="not resolved", adjusted="not resolved", threshold=0.5,
         unit="ratio"),
    dict(id="5", label="Without NMS, one-to-few beats POTO+3DMF+Aux (ATSS).", mean=1.2, low=0.3, high=2.1,
         seed_low=-0.4, seed_high=2.8, paper=1.4, verdict="holds", adjusted="not resolved", threshold=0.0,
         unit="AP points"),
    dict(id="6", label="One-to-few without NMS is at least as good as FCOS with NMS.", mean=-2.0, low=-3.0,
         high=-1.1, seed_low=-3.5, seed_high=-0.6, paper=0.4, verdict="contradicted", adjusted="contradicted",
         threshold=0.0, unit="AP points"),
    dict(id="13a", label="On CrowdHuman, one-to-few's mMR is below FCOS's with NMS.", mean=None, low=None, high=None,
         seed_low=None, seed_high=None, paper=None, verdict="not run", adjusted="not run", threshold=0.0,
         unit="AP points"),
]


def test_forest_plot_has_a_fixed_size_and_reruns_byte_identically(tmp_path):
    first = plot_claims(ROWS, tmp_path / "a" / "claims.png", "Does the paper hold? Demo scale.")
    second = plot_claims(ROWS, tmp_path / "b" / "claims.png", "Does the paper hold? Demo scale.")
    # 10 in wide; 0.75 title + 0.85 legend + 4 rows x 0.36 + 2 units x 0.75 = 4.54 in high, at 130 dpi
    assert Image.open(first).size == (1300, 590)
    assert first.read_bytes() == second.read_bytes()
    assert b"Matplotlib" not in first.read_bytes()  # no version stamp in the metadata


def test_a_claim_with_no_values_at_all_still_draws(tmp_path):
    bare = [{"id": "14", "label": "not run", "verdict": "not run", "adjusted": None, "unit": "AP points",
             "threshold": 0.0, "mean": None, "low": None, "high": None, "seed_low": None, "seed_high": None,
             "paper": None}]
    assert Image.open(plot_claims(bare, tmp_path / "one.png", "t")).size[0] == 1300


def claims_report(reports: Path) -> None:
    pd.DataFrame({"Method": ["FCOS"], "AP(1x)": ["15.0 (n=1); reference"]}).to_csv(reports / "table5.csv", index=False)
    pd.DataFrame([{"id": i, "claim": "c", "holds if": "> 0", "paper": "1.4", "ours (mean)": "2.2",
                   "95% interval": "[1.7, 2.7]", "seed-only t": "[1.6, 2.8]", "n": "3", "verdict": "holds",
                   "after Holm": "not resolved", "note": ""} for i in ("5", "9a")]) \
        .to_csv(reports / "claims.csv", index=False)


def test_index_shows_the_forest_plot_first_and_links_the_claims_tables(tmp_path, repo_root):
    reports = tmp_path / "reports"
    reports.mkdir()
    claims_report(reports)
    plot_claims(ROWS, reports / "claims.png", "Does the paper hold?")
    page = render_index({"table5": ("Table 5.", Path("table5.csv"))}, {}, reports / "index.html", "demo", [],
                        repo_root, claims=Path("claims.csv"), claims_png=Path("claims.png"),
                        claim_sources={"5": ("table5",), "9a": ("table1",)},
                        scale_descriptions={"coco": "ResNet-18 on tree crowns"}).read_text()
    assert page.index("<img id='claims-plot' src='claims.png'") < page.index("<h2 id='claims'>") \
        < page.index("<h2 id='table5'>")
    assert "<td><a href='#table5'>table5</a></td>" in page and "<td>table1 (not rendered)</td>" in page
    assert "add <code>tables=[table5,table1]</code>" in page
    assert "coco configs: ResNet-18 on tree crowns" in page


def test_index_without_the_plot_or_sources_is_as_before(tmp_path, repo_root):
    reports = tmp_path / "reports"
    reports.mkdir()
    claims_report(reports)
    page = render_index({"table5": ("Table 5.", Path("table5.csv"))}, {}, reports / "index.html", "demo", [],
                        repo_root, claims=Path("claims.csv"), claims_png=Path("claims.png")).read_text()
    assert "<img" not in page and "<th>from</th>" not in page and "The claims read" not in page
