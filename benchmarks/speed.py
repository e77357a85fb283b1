"""Benchmark: Table 5's forward ms, NMS ms and FPS for each model, on the present device.

    .venv/bin/python benchmarks/speed.py --scale demo [--images 15] [--device cuda]
"""

from __future__ import annotations

import argparse

from o2f.engine.device import training_device
from o2f.pipeline.speed import device_label, measure
from o2f.speed_cells import table_value

MODELS_TO_TIME = {
    "FCOS (w/ NMS)": ("configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py", True),
    "FCOS (w/o NMS)": ("configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py", False),
    "POTO": ("configs/poto/poto_r50_fpn_1x_coco.py", False),
    "POTO+3DMF": ("configs/poto/poto-3dmf_r50_fpn_1x_coco.py", False),
    "Ours-3convs": ("configs/o2f/o2f_r50_fpn_1x_coco.py", False),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--device", default=training_device())
    parser.add_argument("--images", type=int, default=15)
    args = parser.parse_args()
    print(f"device: {device_label(args.device)}; scale: {args.scale}; batch 1; median over {args.images} images")
    print(f"{'model':<16} {'forward (ms)':>13} {'NMS (ms)':>9} {'FPS':>6}")
    cache = {}
    for label, (config, with_nms) in MODELS_TO_TIME.items():
        speed = cache.setdefault(config, measure(config, args.scale, args.device, args.images))
        print(f"{label:<16} {table_value(speed, 'forward', with_nms):>13.1f} "
              f"{table_value(speed, 'nms', with_nms):>9.2f} {table_value(speed, 'fps', with_nms):>6.1f}")


if __name__ == "__main__":
    main()
