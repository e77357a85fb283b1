"""Benchmark: an exported model in ONNX Runtime against PyTorch on the validation images.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/onnx_parity.py CONFIG CHECKPOINT --scale demo

Exports CONFIG + CHECKPOINT (batch 1, the test pipeline's size), runs mmdet's test pipeline and
model in PyTorch (each image padded, as mmdet pads, to the graph's fixed input) and the graph in
ONNX Runtime on every validation image, and prints the largest box and score differences between
matched detections and the COCO AP of both. The goal: boxes equal to 1e-3 pixels and AP equal to
0.1. It also prints PyTorch's AP with mmdet's usual padding (to the pad divisor only), which
differs from the fixed input's near the bottom/right edge of images smaller than the input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from o2f.deploy.checkpoint import load_detector
from o2f.deploy.export import export_onnx
from o2f.deploy.parity import compare
from o2f.errors import O2FError, run_reporting_errors
from o2f.pipeline.config import load_config

BOX_TOLERANCE, AP_TOLERANCE = 1e-3, 0.1


def run(args: argparse.Namespace) -> None:
    cfg = load_config(args.config, args.scale)
    with tempfile.TemporaryDirectory() as folder:
        onnx_path = args.onnx or Path(folder) / "model.onnx"
        if not args.onnx:
            export_onnx(load_config(args.config, args.scale), args.checkpoint, onnx_path, config_path=args.config)
        detector, _ = load_detector(cfg, args.checkpoint, args.config)
        result = compare(cfg, detector, onnx_path, threads=args.threads)
    boxes_ok = result["max_box_diff"] <= BOX_TOLERANCE and result["unmatched"] == 0
    ap_ok = abs(result["pytorch_ap"] - result["onnx_ap"]) <= AP_TOLERANCE
    print(f"{args.config} ({args.scale}), {Path(args.checkpoint).name}: {result['images']} validation images")
    print(f"detections: PyTorch {result['pytorch_boxes']}, ONNX Runtime {result['onnx_boxes']}; "
          f"PyTorch boxes without an ONNX match: {result['unmatched']}")
    print(f"largest difference of matched boxes: {result['max_box_diff']:.2e} px "
          f"({'within' if boxes_ok else 'NOT within'} {BOX_TOLERANCE:g}); scores: {result['max_score_diff']:.2e}")
    print(f"COCO AP: PyTorch {result['pytorch_ap']:.2f}, ONNX Runtime {result['onnx_ap']:.2f} "
          f"({'equal' if ap_ok else 'NOT equal'} to {AP_TOLERANCE:g}); PyTorch with mmdet's padding to the "
          f"pad divisor instead of the graph's fixed input: {result['pytorch_divisor_pad_ap']:.2f}")
    if not (boxes_ok and ap_ok):
        raise O2FError("ONNX Runtime and PyTorch disagree beyond the tolerances above")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--onnx", default=None, help="an already exported graph of this checkpoint (skips export)")
    parser.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: its own)")
    args = parser.parse_args()
    return run_reporting_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
