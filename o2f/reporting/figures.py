"""Training-curve figures: AP per epoch with and without NMS (the paper's Figure 5)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..pipeline import Plan  # noqa: E402
from .results import Results  # noqa: E402


def curves_figure(plan: Plan, results: Results, figure: str, out_stem: Path) -> list[Path]:
    """One line per (experiment, NMS variant); solid without NMS, dashed with NMS."""
    spec = plan.figures[figure]
    fig, ax = plt.subplots(figsize=(6, 4))
    for index, curve in enumerate(spec["curves"]):
        color = f"C{index}"
        for nms, style in ((False, "-"), (True, "--")):
            points = results.curve(curve["experiment"], spec["metric"], nms)
            if points:
                epochs, values = zip(*points, strict=True)
                label = f"{curve['name']} {'w/' if nms else 'w/o'} NMS"
                ax.plot(epochs, values, style, color=color, marker="o", markersize=3, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{spec['metric'].replace('bbox_', '')} (%)")
    ax.set_title(f"{spec['title']}\nscale: {plan.scale}", fontsize=8)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no finished run yet", ha="center", transform=ax.transAxes)
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return paths
