"""Figures: AP per epoch with and without NMS (the paper's Figure 5), score and label maps (Figure 6)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ..pipeline.plan import Plan  # noqa: E402
from ..work_dir import SCORE_MAPS  # noqa: E402
from .results import Results  # noqa: E402
from .scale_label import report_title, wrapped  # noqa: E402
from .score_maps import epoch_files  # noqa: E402


def curves_figure(plan: Plan, results: Results, figure: str, out_stem: Path) -> list[Path]:
    """One line per (experiment, NMS variant), the mean over the seeds that finished with their range
    shaded; solid without NMS, dashed with NMS."""
    spec = plan.figures[figure]
    fig, ax = plt.subplots(figsize=(6, 4))
    for index, curve in enumerate(spec["curves"]):
        color = f"C{index}"
        for nms, style in ((False, "-"), (True, "--")):
            seeds = results.seed_curves(curve["experiment"], spec["metric"], nms)
            if seeds:
                frame = pd.DataFrame(seeds).sort_index()
                label = f"{curve['name']} {'w/' if nms else 'w/o'} NMS{f' (n={len(seeds)})' if len(seeds) > 1 else ''}"
                ax.plot(frame.index, frame.mean(axis=1), style, color=color, marker="o", markersize=3, label=label)
                if len(seeds) > 1:
                    ax.fill_between(frame.index, frame.min(axis=1), frame.max(axis=1), color=color, alpha=0.15, lw=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{spec['metric'].replace('bbox_', '')} (%)")
    seeds = plan.settings["seeds"]
    spread = f"; mean over seeds {', '.join(map(str, seeds))}, shaded: their range" if len(seeds) > 1 else ""
    ax.set_title(f"{wrapped(report_title(plan, figure), 90)}\nscale: {plan.scale}{spread}", fontsize=8)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no finished run yet", ha="center", transform=ax.transAxes)
    return save(fig, out_stem)


def save(fig, out_stem: Path) -> list[Path]:
    out_stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [out_stem.with_suffix(".png"), out_stem.with_suffix(".pdf")]
    for path in paths:  # no creation date in the PDF: a re-render from the same evidence is byte-identical
        metadata = {"CreationDate": None} if path.suffix == ".pdf" else {}
        fig.savefig(path, dpi=130, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return paths


LEVELS_SHOWN = 3  # the three coarsest FPN levels, as in the paper's Figure 6 (P5-P7 at full scale)
MARKS = "ABC"


def level_name(stride: int) -> str:
    return f"P{int(round(np.log2(stride)))}"


def footprint(box: np.ndarray, stride: int, shape: tuple[int, int]) -> tuple[slice, slice]:
    """The cells of a level whose centres ((i + 0.5) * stride) lie inside a box (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    first = lambda lo: max(int(np.ceil(lo / stride - 0.5)), 0)  # noqa: E731
    last = lambda hi, n: min(int(np.floor(hi / stride - 0.5)) + 1, n)  # noqa: E731
    return slice(first(y1), last(y2, shape[0])), slice(first(x1), last(x2, shape[1]))


def crop_window(box: np.ndarray, stride: int, shape: tuple[int, int], pad: int = 2) -> tuple[slice, slice]:
    """The cells around a box on one level: the cells it covers and ``pad`` more on each side, clipped."""
    x1, y1, x2, y2 = (float(v) for v in box)
    rows = slice(max(int(y1 // stride) - pad, 0), min(int(np.ceil(y2 / stride)) + pad, shape[0]))
    cols = slice(max(int(x1 // stride) - pad, 0), min(int(np.ceil(x2 / stride)) + pad, shape[1]))
    return rows, cols


def pick_objects(boxes: np.ndarray, labels: list[np.ndarray], strides: list[int]) -> list[tuple[int, int]]:
    """(object, level) pairs to show, one per level from fine to coarse: objects of different sizes (the
    smallest on the finest level shown, the largest on the coarsest), each one that level assigns labels
    to where there is such an object, and a different object per level while there are enough."""
    if not len(boxes):
        return []
    order = list(np.argsort((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), kind="stable"))
    picked: list[tuple[int, int]] = []
    for level, (label, stride) in enumerate(zip(labels, strides, strict=True)):
        free = [k for k in range(len(boxes)) if k not in {p for p, _ in picked}] or list(range(len(boxes)))
        assigned = [k for k in free if label[footprint(boxes[k], stride, label.shape)].sum() > 0]
        rank = round(level * (len(order) - 1) / max(len(labels) - 1, 1))  # the size this level should show
        best = min(assigned or free, key=lambda k: (abs(order.index(k) - rank), -order.index(k)))
        picked.append((int(best), level))
    return picked


def read_image(results_root: Path, maps, size: tuple[int, int]) -> np.ndarray | None:
    """The validation image the maps were taken on, resized to the network input (``size`` = (w, h))."""
    from PIL import Image

    if "image" in maps:  # kept in the run's evidence
        return np.asarray(maps["image"])
    path = Path(str(maps["img_path"]))
    path = path if path.is_absolute() else results_root / path
    if not path.exists():
        return None
    with Image.open(path) as image:
        width, height = image.size
        sw, sh = (float(v) for v in maps["scale_factor"])
        return np.asarray(image.convert("RGB").resize((max(round(width * sw), 1), max(round(height * sh), 1))))


def score_map_figure(plan: Plan, results: Results, figure: str, out_stem: Path) -> list[Path]:
    """The paper's Figure 6: the input image with its objects' boxes, and beside it the joint score and
    the assigned label (certain 1, ambiguous T, negative 0) around a few objects of different sizes, each
    on one of the three coarsest levels, after the first and the last epoch, with colour scales."""
    from matplotlib.patches import Rectangle

    spec = plan.figures[figure]
    experiment = spec["experiments"][0]
    seed = plan.settings["seeds"][0]
    folder = results.evidence_dir(experiment, seed)
    files = epoch_files(folder / SCORE_MAPS) if folder else []
    if not files:
        fig, ax = plt.subplots(figsize=(4, 2))
        ax.text(0.5, 0.5, f"no score maps for {experiment} yet", ha="center")
        ax.axis("off")
        return save(fig, out_stem)
    stages = [(name, path, np.load(path)) for name, path in (("early", files[0]), ("late", files[-1]))]
    early = stages[0][2]
    strides = [int(s) for s in early["strides"]]
    levels = list(range(len(strides)))[-LEVELS_SHOWN:]
    boxes = np.asarray(early["gt_bboxes"], dtype=float).reshape(-1, 4)
    picked = [(k, levels[i]) for k, i in pick_objects(boxes, [early[f"label_{l}"] for l in levels],
                                                       [strides[l] for l in levels])]
    shape0 = early["score_0"].shape
    canvas = (shape0[1] * strides[0], shape0[0] * strides[0])  # padded network input (w, h)
    image = read_image(results.root, early, canvas)

    windows = [crop_window(boxes[k], strides[level], early[f"score_{level}"].shape) for k, level in picked]
    marks = {k: MARKS[i] for i, k in enumerate(dict.fromkeys(k for k, _ in picked))}
    score_top = max([float(maps[f"score_{level}"][window].max()) for _, _, maps in stages
                     for (_, level), window in zip(picked, windows, strict=True)] or [1.0]) or 1.0
    columns = max(len(picked), 1)
    fig = plt.figure(figsize=(4.5 + 2.4 * columns, 8))
    grid = fig.add_gridspec(4, columns + 2, width_ratios=[2.2 * columns, *[1] * columns, 0.08], wspace=0.45,
                            hspace=0.45)
    ax = fig.add_subplot(grid[:, 0])
    if image is not None:
        ax.imshow(image, extent=(0, image.shape[1], image.shape[0], 0))
    else:
        ax.imshow(np.full((canvas[1], canvas[0]), 0.85), cmap="gray", vmin=0, vmax=1)
        ax.text(canvas[0] / 2, canvas[1] / 2, "image not found", ha="center")
    for box in boxes:
        ax.add_patch(Rectangle(box[:2], box[2] - box[0], box[3] - box[1], fill=False, lw=0.6, ec="white"))
    for k, mark in marks.items():
        box = boxes[k]
        ax.add_patch(Rectangle(box[:2], box[2] - box[0], box[3] - box[1], fill=False, lw=1.8, ec="red"))
        ax.text(box[0], box[1] - 2, mark, color="red", fontsize=9, fontweight="bold", va="bottom")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"input ({len(boxes)} objects; red: shown at right)", fontsize=8)
    images = {}
    for stage_index, (stage, path, maps) in enumerate(stages):
        epoch, temperature = path.stem.split("_")[1], float(maps["temperature"])
        for kind_index, kind in enumerate(("score", "label")):
            row = 2 * stage_index + kind_index
            for column, ((k, level), (rows, cols)) in enumerate(zip(picked, windows, strict=True)):
                stride = strides[level]
                sub = fig.add_subplot(grid[row, column + 1])
                extent = (cols.start * stride, cols.stop * stride, rows.stop * stride, rows.start * stride)
                images[kind] = sub.imshow(maps[f"{kind}_{level}"][rows, cols], cmap="viridis", vmin=0,
                                          vmax=score_top if kind == "score" else 1.0, extent=extent)
                box = boxes[k]
                sub.add_patch(Rectangle(box[:2], box[2] - box[0], box[3] - box[1], fill=False, lw=1.2, ec="red"))
                sub.set_xlim(extent[0], extent[1])
                sub.set_ylim(extent[2], extent[3])
                sub.set_xticks([])
                sub.set_yticks([])
                if row == 0:
                    size = f"{box[2] - box[0]:.0f}x{box[3] - box[1]:.0f} px"
                    sub.set_title(f"{marks[k]}: {size}\n{level_name(stride)} (stride {stride})", fontsize=8)
                if column == 0:
                    sub.set_ylabel(f"{stage}\n{kind}\nepoch {epoch}\nT={temperature:.2f}", fontsize=7, rotation=0,
                                   ha="right", va="center")
    for kind, row in (("score", slice(0, 1)), ("label", slice(1, 2))):
        if kind in images:
            bar = fig.colorbar(images[kind], cax=fig.add_subplot(grid[row, -1]))
            bar.set_label(kind if kind == "label" else "joint score", fontsize=7)
            bar.ax.tick_params(labelsize=6)
    fig.suptitle(f"{wrapped(report_title(plan, figure))}\nexperiment {experiment}, seed {seed}, scale {plan.scale}; "
                 "score and label colour scales are shared by all crops, early and late", fontsize=8)
    return save(fig, out_stem)
