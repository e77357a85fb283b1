"""Every claim at a glance: a forest plot, one row per claim, grouped by unit (AP points, ratios, mMR points).

A row shows our mean, the crossed bootstrap's 95 % interval (seeds and test images, thick) and the seed-only
t interval (thin), whose envelope the verdict reads, the paper's value (scaled to our reference cell where
the claim names one; a hollow diamond) and the claim's threshold (a grey tick), coloured by the verdict; the
mean is filled where Holm's correction keeps the verdict and hollow where it changes it, and both verdicts
are written at the right. Fixed sizes and no PNG metadata beyond the image: a rerun writes the same bytes.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

DPI = 130
WIDTH = 10.0  # inches
LABELS = 3.7  # inches left of the axes: the claims' ids and labels
VERDICTS = 2.0  # inches right of the axes: the verdict and the verdict after Holm's correction
ROW = 0.36  # inches per claim
GROUP_GAP = 0.75  # inches between groups: the x axis of one and the unit of the next
HEADER = 0.75  # inches above the first group: the title
FOOTER = 0.85  # inches below the last group: the legend
LABEL_CHARS = 52  # per line of a row label, two lines at most
VERDICT_INK = {"holds": "#1b7837", "contradicted": "#b2182b", "not resolved": "#c98a00", "not run": "#8c8c8c"}
PAPER_MARK = dict(marker="D", markersize=6, markerfacecolor="none", markeredgecolor="black", markeredgewidth=1.1)
THRESHOLD_MARK = dict(marker="|", markersize=15, markeredgewidth=1.6, color="#777777")


def unit_groups(rows: list[dict]) -> list[tuple[str, list[dict]]]:
    """The rows by unit, units in order of first appearance, rows in their given order."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(str(row.get("unit") or ""), []).append(row)
    return list(groups.items())


def forest_size(rows: list[dict]) -> tuple[float, float]:
    """The figure's size in inches (width, height), from the number of rows and units alone."""
    groups = unit_groups(rows)
    return WIDTH, HEADER + FOOTER + ROW * len(rows) + GROUP_GAP * len(groups)


def finite(value) -> float | None:
    """A plottable number, or None (missing, NaN, infinite)."""
    return float(value) if value is not None and math.isfinite(float(value)) else None


def axis_limits(rows: list[dict]) -> tuple[float, float]:
    """An x range holding every interval, mean, paper value and threshold of a group, padded by 6 %."""
    keys = ("low", "high", "seed_low", "seed_high", "mean", "paper", "threshold")
    values = [v for row in rows for v in (finite(row.get(k)) for k in keys) if v is not None] or [0.0]
    low, high = min(values), max(values)
    pad = 0.06 * (high - low) if high > low else max(abs(low) * 0.1, 1.0)
    return low - pad, high + pad


def row_label(row: dict) -> str:
    """"5  One-to-few beats ..." in at most two lines."""
    lines = textwrap.wrap(f"{row['id']}  {row.get('label', '')}", LABEL_CHARS)
    return "\n".join(lines[:1] + [textwrap.shorten(" ".join(lines[1:]), LABEL_CHARS, placeholder=" …")]
                     if len(lines) > 2 else lines)


def draw_row(ax, y: int, row: dict) -> None:
    """One claim on its line: threshold, seed interval, our interval, mean and the paper's value (a claim
    not run has only the last and the threshold; its verdict says why)."""
    ink = VERDICT_INK.get(row.get("verdict"), "black")
    if finite(row.get("threshold")) is not None:
        ax.plot([row["threshold"]], [y], zorder=2, **THRESHOLD_MARK)
    seed = finite(row.get("seed_low")), finite(row.get("seed_high"))
    if None not in seed:
        ax.hlines(y, *seed, colors=ink, linewidth=1.2, zorder=3)
    ours = finite(row.get("low")), finite(row.get("high"))
    if None not in ours:
        ax.hlines(y, *ours, colors=ink, linewidth=5.0, alpha=0.6, zorder=4, capstyle="butt")
    mean = finite(row.get("mean"))
    if mean is not None:
        kept = row.get("adjusted") in (None, row.get("verdict"))
        ax.plot([mean], [y], marker="o", markersize=7, markeredgecolor=ink, markeredgewidth=1.5,
                markerfacecolor=ink if kept else "white", zorder=5)
    if finite(row.get("paper")) is not None:
        ax.plot([row["paper"]], [y], zorder=6, **PAPER_MARK)


def verdict_columns() -> dict[str, float]:
    """Row key -> x of its column right of the axes (axes fractions): 0.1 inch and 1.1 inches past it."""
    axes = WIDTH - LABELS - VERDICTS
    return {"verdict": 1 + 0.1 / axes, "adjusted": 1 + 1.1 / axes}


def draw_verdicts(ax, y: int, row: dict) -> None:
    """The verdict and the verdict after Holm's correction, in their colours, right of the axes."""
    place = blended_transform_factory(ax.transAxes, ax.transData)
    for key, x in verdict_columns().items():
        text = row.get(key) or "–"
        ax.text(x, y, text, transform=place, fontsize=7.5, va="center", fontweight="bold",
                color=VERDICT_INK.get(text, "black"), clip_on=False)


def draw_group(ax, unit: str, rows: list[dict]) -> None:
    """One unit's rows on a shared x axis, labels left and verdicts right."""
    for y, row in enumerate(rows):
        draw_row(ax, y, row)
        draw_verdicts(ax, y, row)
    ax.set_xlim(*axis_limits(rows))
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)), [row_label(row) for row in rows], fontsize=7.5)
    ax.tick_params(axis="x", labelsize=7.5)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(unit or "value", loc="left", fontsize=8.5, fontweight="bold")
    for key, x in verdict_columns().items():
        header = "after Holm" if key == "adjusted" else key
        ax.text(x, 1.0, header, transform=ax.transAxes, fontsize=7.5, va="bottom", color="#444444")


def legend_handles() -> list:
    """What the marks mean, and the verdicts' colours."""
    return [
        Line2D([], [], color="#555555", linewidth=5.0, alpha=0.6, label="bootstrap 95 % interval (seeds and images)"),
        Line2D([], [], color="#555555", linewidth=1.2, label="seed-only t interval"),
        Line2D([], [], linestyle="none", marker="o", markersize=7, color="#555555",
               label="our mean: filled, Holm keeps the verdict"),
        Line2D([], [], linestyle="none", marker="o", markersize=7, markerfacecolor="white",
               markeredgecolor="#555555", markeredgewidth=1.5, label="hollow, Holm changes it"),
        Line2D([], [], linestyle="none", label="the paper's value", **PAPER_MARK),
        Line2D([], [], linestyle="none", label="the claim's threshold", **THRESHOLD_MARK),
        *[Patch(color=ink, label=verdict) for verdict, ink in VERDICT_INK.items()],
    ]


def group_boxes(rows: list[dict]) -> list[tuple[float, float, float, float]]:
    """Each group's axes as (left, bottom, width, height) in figure fractions, top group first."""
    width, height = forest_size(rows)
    boxes, top = [], height - HEADER
    for _, members in unit_groups(rows):
        top -= GROUP_GAP * 0.35  # the unit's name above the axes
        size = ROW * len(members)
        boxes.append((LABELS / width, (top - size) / height, (width - LABELS - VERDICTS) / width, size / height))
        top -= size + GROUP_GAP * 0.65  # the x axis below it
    return boxes


def plot_claims(rows: list[dict], png_path: Path, title: str) -> Path:
    """The forest plot of ``rows`` (one dict per claim: id, label, mean, low, high, seed_low, seed_high,
    paper, verdict, adjusted, threshold, unit; numbers may be None) as a PNG of ``forest_size(rows)`` inches
    at ``DPI``."""
    width, height = forest_size(rows)
    fig = plt.figure(figsize=(width, height), dpi=DPI)
    for (unit, members), box in zip(unit_groups(rows), group_boxes(rows), strict=True):
        draw_group(fig.add_axes(box), unit, members)
    fig.suptitle("\n".join(textwrap.wrap(title, 120)[:2]), y=1 - 0.12 / height, va="top", fontsize=9)
    fig.legend(handles=legend_handles(), loc="lower center", ncol=5, fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, 0.05 / height))
    png_path = Path(png_path)
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return png_path
