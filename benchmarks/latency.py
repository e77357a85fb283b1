"""Benchmark: end-to-end latency, batch 1, PyTorch eager vs ONNX Runtime, FCOS + NMS vs NMS-free.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/latency.py --scale demo [--runs 50] [--threads 2]
        [--checkpoint fcos=PATH --checkpoint o2f=PATH --checkpoint poto-3dmf=PATH] [--image PATH]

For each input size (the scale's test size and 800x1333) and model (FCOS, POTO+3DMF, one-to-few
Ours-3convs, each the scale's architecture), the same image goes through the same host
preprocessing, then either the PyTorch module that ``o2f export`` exports (eager, timed in parts)
or its exported graph in ONNX Runtime (one call). Median and p90 over ``--runs`` after
``--warmup`` runs, on the CPU with ``--threads`` threads for both runtimes. Random weights unless a
checkpoint is given: with random weights few candidates pass the score threshold, so FCOS's NMS has
little to do; the table counts the candidates so the NMS load is visible. Writes
``reports/<scale>/latency.md``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import mmcv
import numpy as np
import torch

from o2f.deploy.checkpoint import load_detector
from o2f.deploy.end_to_end import EndToEndDetector
from o2f.deploy.export import export_onnx, input_sizes
from o2f.deploy.onnx_runtime import OnnxDetector
from o2f.engine.device import cpu_name
from o2f.pipeline.config import load_config

MODELS = {
    "fcos": ("FCOS (forward + NMS)",
             "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"),
    "poto-3dmf": ("POTO+3DMF (no NMS)", "configs/poto/poto-3dmf_r50_fpn_1x_coco.py"),
    "o2f": ("one-to-few, Ours-3convs (no NMS)", "configs/o2f/o2f_r50_fpn_1x_coco.py"),
}
COLUMNS = ("pre", "forward", "select", "final", "end to end")
COLUMN_HELP = {
    "pre": "preprocessing on the host (numpy/OpenCV): fit the image into the input keeping its aspect ratio "
           "(mmcv.imrescale, bilinear), pad with the mean pixel, HWC to CHW float32; the same code for both runtimes",
    "forward": "eager only: normalisation, backbone, neck, head",
    "select": "eager only: sigmoid scores (joint score without NMS), per-level score threshold and top-k "
              "(nms_pre), box decoding and clipping",
    "final": "eager only: FCOS: class-aware NMS (IoU 0.6) then the top 100; NMS-free models: the top 100",
    "end to end": "pre + everything to the fixed (100-row) output; ONNX Runtime: pre + one session.run of the "
                  "exported graph (forward, select and final inside it, NMS as ONNX NonMaxSuppression for FCOS)",
}


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def timing_image(resize_hw: tuple[int, int], image_path: str | None) -> np.ndarray:
    """A real image, or noise 1.25 times the resize box, so that preprocessing resizes as it would."""
    if image_path:
        return mmcv.imread(image_path)
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (round(resize_hw[0] * 1.25), round(resize_hw[1] * 1.25), 3), dtype=np.uint8)


def time_eager(model: EndToEndDetector, onnx: OnnxDetector, image: np.ndarray) -> tuple[dict[str, float], int]:
    """One run in parts (ms) and the number of candidates entering the final selection."""
    t0 = time.perf_counter()
    prepared = onnx.prepare(image)
    images = torch.from_numpy(prepared.tensor)[None]
    image_hw = torch.tensor([prepared.resized_hw], dtype=torch.float32)
    t1 = time.perf_counter()
    outputs = model.network(images)
    t2 = time.perf_counter()
    scores, boxes, labels = model.candidates(outputs, image_hw)
    t3 = time.perf_counter()
    model.nms_top(scores, boxes, labels) if model.with_nms else model.top(scores, boxes, labels)
    t4 = time.perf_counter()
    parts = {"pre": t1 - t0, "forward": t2 - t1, "select": t3 - t2, "final": t4 - t3, "end to end": t4 - t0}
    return {key: value * 1000 for key, value in parts.items()}, int((scores > 0).sum())


def time_onnx(onnx: OnnxDetector, image: np.ndarray) -> dict[str, float]:
    t0 = time.perf_counter()
    prepared = onnx.prepare(image)
    t1 = time.perf_counter()
    onnx.run(prepared.tensor[None], np.asarray([prepared.resized_hw]))
    t2 = time.perf_counter()
    return {"pre": (t1 - t0) * 1000, "end to end": (t2 - t0) * 1000}


def measure(key: str, scale: str, size: tuple[int, int] | None, args, folder: Path) -> list[dict]:
    """Both runtimes for one model at one input size: one row each."""
    label, config = MODELS[key]
    overrides = {"model.test_cfg.score_thr": args.score_thr} if args.score_thr is not None else None
    checkpoint = args.checkpoints.get(key)
    torch.manual_seed(0)
    onnx_path = folder / f"{key}.onnx"
    export_onnx(load_config(config, scale, overrides), checkpoint, onnx_path, input_size=size, config_path=config)
    torch.manual_seed(0)
    detector, _ = load_detector(load_config(config, scale, overrides), checkpoint, config)
    model = EndToEndDetector(detector).eval()
    onnx = OnnxDetector(onnx_path, threads=args.threads)
    resize_hw = tuple(onnx.meta["resize_hw"])
    image = timing_image(resize_hw, args.image)
    eager_runs, onnx_runs, candidates = [], [], []
    with torch.no_grad():
        for index in range(args.warmup + args.runs):
            eager, count = time_eager(model, onnx, image)  # interleaved: background load hits both alike
            exported = time_onnx(onnx, image)
            if index >= args.warmup:
                eager_runs.append(eager)
                onnx_runs.append(exported)
                candidates.append(count)
    common = {"model": label, "input": "x".join(map(str, onnx.input_hw)), "resize": "x".join(map(str, resize_hw)),
              "candidates": statistics.median(candidates), "weights": "checkpoint" if checkpoint else "random"}
    rows = []
    for runtime, runs in (("PyTorch eager", eager_runs), ("ONNX Runtime", onnx_runs)):
        row = {**common, "runtime": runtime}
        for column in COLUMNS:
            if column in runs[0]:
                row[column] = statistics.median(r[column] for r in runs)
        row["p90"] = percentile([r["end to end"] for r in runs], 90)
        rows.append(row)
    return rows


def goal_lines(rows: list[dict]) -> list[str]:
    """One-to-few end to end against FCOS + NMS, per input size and runtime."""
    lines = []
    for (size, runtime) in dict.fromkeys((r["input"], r["runtime"]) for r in rows):
        by_model = {r["model"]: r["end to end"] for r in rows if r["input"] == size and r["runtime"] == runtime}
        fcos, o2f = by_model.get(MODELS["fcos"][0]), by_model.get(MODELS["o2f"][0])
        if fcos is None or o2f is None:
            continue
        verdict = "at or below" if o2f <= fcos else "ABOVE"
        lines.append(f"* {size}, {runtime}: one-to-few {o2f:.1f} ms vs FCOS + NMS {fcos:.1f} ms: {verdict} "
                     f"({o2f - fcos:+.1f} ms)")
    return lines


def render(rows: list[dict], args, scale: str) -> str:
    import onnxruntime

    weights = {r["model"]: r["weights"] for r in rows}
    header = ["input (resize box)", "model", "runtime", *(f"{c} (ms)" for c in COLUMNS), "end to end p90 (ms)",
              "candidates"]
    lines = [
        f"# End-to-end latency, {scale} scale",
        "",
        f"CPU: {cpu_name()}, {args.threads} threads (torch.set_num_threads and ONNX Runtime intra-op threads, "
        f"sequential execution); batch 1; median over {args.runs} runs after {args.warmup} warm-up runs, "
        "the two runtimes interleaved run by run.",
        f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}; the {scale} scale's architecture; "
        f"weights: {', '.join(f'{m} {w}' for m, w in weights.items())}; image: "
        f"{args.image or 'random noise 1.25 x the resize box'}; score threshold: "
        f"{args.score_thr if args.score_thr is not None else 'the config (0.05)'}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in rows:
        cells = [f"{row['input']} ({row['resize']})", row["model"], row["runtime"],
                 *(f"{row[c]:.1f}" if c in row else "in the graph" for c in COLUMNS), f"{row['p90']:.1f}",
                 f"{row['candidates']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "What each column includes:", ""]
    lines += [f"* **{column}**: {text}" for column, text in COLUMN_HELP.items()]
    lines += ["* **candidates**: median number of (anchor, class) candidates above the score threshold entering "
              "the final selection (FCOS: the NMS input)", "", "One-to-few end to end against FCOS + NMS:", ""]
    lines += goal_lines(rows)
    return "\n".join(lines) + "\n"


def parse_size(text: str) -> tuple[int, int] | None:
    """``test`` (the scale's test size) or HxW."""
    if text == "test":
        return None
    height, width = text.lower().split("x")
    return int(height), int(width)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--sizes", nargs="+", default=["test", "800x1333"],
                        help="'test' (the scale's test resize) and/or HxW resize boxes")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--checkpoint", action="append", default=[], metavar="MODEL=PATH",
                        help=f"trained weights for a model ({', '.join(MODELS)}); default random")
    parser.add_argument("--image", default=None, help="an image file to time on (default: noise)")
    parser.add_argument("--score-thr", type=float, default=None, help="override test_cfg.score_thr")
    parser.add_argument("--out", default=None, help="default reports/<scale>/latency.md")
    args = parser.parse_args()
    args.checkpoints = dict(item.split("=", 1) for item in args.checkpoint)
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size_text in args.sizes:
            size = parse_size(size_text)
            for key in args.models:
                cfg = load_config(MODELS[key][1], args.scale)
                print(f"timing {key} at {input_sizes(cfg, size)[1]} ...", flush=True)
                rows += measure(key, args.scale, size, args, Path(folder))
    report = render(rows, args, args.scale)
    out = Path(args.out or f"reports/{args.scale}/latency.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
