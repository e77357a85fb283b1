"""Training-curve figures: AP per epoch with and without NMS (the paper's Figure 5)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..engine.hooks import SCORE_MAPS  # noqa: E402
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
    return save(fig, out_stem)


def save(fig, out_stem: Path) -> list[Path]:
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".pdf")]
    for path in paths:
        fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)
    return paths


def score_map_figure(plan: Plan, results: Results, figure: str, out_stem: Path, levels: int = 3) -> list[Path]:
    """Heat maps saved by ``ScoreMapHook``: rows early/late x (score, label), columns the coarsest levels."""
    spec = plan.figures[figure]
    experiment = spec["experiments"][0]
    folder = results.root / plan.work_dir(experiment, plan.settings["seeds"][0]) / SCORE_MAPS
    files = sorted(folder.glob("epoch_*.npz"), key=lambda p: int(p.stem.split("_")[1]))
    if not files:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.text(0.5, 0.5, f"no score maps for {experiment} yet", ha="center")
        ax.axis("off")
        return save(fig, out_stem)
    stages = [("early", files[0]), ("late", files[-1])]
    fig, axes = plt.subplots(4, levels, figsize=(3 * levels, 11))
    for stage_index, (stage, path) in enumerate(stages):
        maps = np.load(path)
        count = len([k for k in maps.files if k.startswith("score_")])
        epoch, temperature = path.stem.split("_")[1], float(maps["temperature"])
        for column, level in enumerate(range(count - levels, count)):
            for kind_index, kind in enumerate(("score", "label")):
                ax = axes[2 * stage_index + kind_index, column]
                values = maps[f"{kind}_{level}"]
                top = 1.0 if kind == "label" else max(float(values.max()), 1e-3)  # scores: own scale
                ax.imshow(values, cmap="viridis", vmin=0, vmax=top)
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(f"{stage} (epoch {epoch}, T={temperature:.2f}): {kind}, level {level}", fontsize=7)
    fig.suptitle(f"{spec['title']}\nexperiment {experiment}, scale {plan.scale}", fontsize=8)
    return save(fig, out_stem)
