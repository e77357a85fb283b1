"""The GPU path in one short run: full-scale training, CPU/GPU parity, NMS on CUDA, Table 5's speed.

    bash scripts/gpu_check.sh                       # on a GPU machine (see README, GPU set-up)
    .venv/bin/python benchmarks/gpu_check.py --device cpu --iters 2 --size 320x192 --speed-images 2  # smoke run

On a COCO-layout copy of the synthetic shapes (stretched to 1333x800, the two shapes as COCO's first two
classes so the 80-class configs train and evaluate unchanged), at the ``full`` scale (R50-FPN, 2 images a
batch, random backbone init), for FCOS, POTO+3DMF+Aux (ATSS) and one-to-few:

1. mmcv's ``batched_nms`` on CUDA tensors keeps what it keeps on the CPU;
2. the first iteration's losses on the GPU equal the CPU's (fp32, TF32 off, same weights and batch);
3. ``--iters`` iterations of training through mmengine's Runner, then the with/without-NMS evaluation;
4. Table 5's speed columns (forward ms, NMS ms, FPS; batch 1) for FCOS, POTO+3DMF and one-to-few.

Each check prints a line; the last line counts them, and the exit status is 1 if any failed.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FCOS = "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py"
TRAINED = {"FCOS": FCOS, "POTO+3DMF+Aux": "configs/poto/poto-3dmf-aux-atss_r50_fpn_1x_coco.py",
           "one-to-few": "configs/o2f/o2f_r50_fpn_1x_coco.py"}
# Table 5's speed rows: (config, evaluated with NMS)
TIMED = {"FCOS (w/ NMS)": (FCOS, True), "FCOS (w/o NMS)": (FCOS, False),
         "POTO+3DMF": ("configs/poto/poto-3dmf_r50_fpn_1x_coco.py", False),
         "one-to-few": ("configs/o2f/o2f_r50_fpn_1x_coco.py", False)}
LOSS_TOLERANCE = 1e-3  # relative, absolute below 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda; cpu runs every step against the CPU (a smoke run)")
    parser.add_argument("--iters", type=int, default=20, help="training iterations per model (2 images each)")
    parser.add_argument("--size", default="1333x800", help="image width x height")
    parser.add_argument("--speed-images", type=int, default=15, help="timed images per model (after 2 warm-up)")
    parser.add_argument("--work-dir", default="/tmp/o2f_gpu_check")
    args = parser.parse_args()
    args.size = tuple(int(v) for v in args.size.lower().split("x"))
    return args


class Checks:
    """Collects pass/fail lines; the summary is the script's last line."""

    def __init__(self) -> None:
        self.passed = self.failed = 0

    def record(self, name: str, ok: bool, detail: str) -> None:
        self.passed += ok
        self.failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)


def write_coco_copy(dest: Path, size: tuple[int, int], num_train: int, num_val: int) -> Path:
    """The synthetic shapes in COCO's layout and categories, each image stretched to ``size``."""
    from mmdet.datasets import CocoDataset
    from PIL import Image

    from o2f.pipeline.data.synthetic_shapes import prepare_synthetic_shapes

    source = dest / "source"
    prepare_synthetic_shapes(source, num_train=num_train, num_val=num_val)
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(CocoDataset.METAINFO["classes"])]
    for split in ("train", "val"):
        coco = json.loads((source / "annotations" / f"{split}.json").read_text())
        (dest / f"{split}2017").mkdir(parents=True, exist_ok=True)
        for image in coco["images"]:
            sx, sy = size[0] / image["width"], size[1] / image["height"]
            name = image["file_name"]
            Image.open(source / "images" / name).resize(size).save(dest / f"{split}2017" / name)
            image.update(width=size[0], height=size[1], scale=(sx, sy))
        scales = {image["id"]: image.pop("scale") for image in coco["images"]}
        for ann in coco["annotations"]:  # category ids 1 and 2 stay: COCO's person and bicycle
            sx, sy = scales[ann["image_id"]]
            x, y, w, h = ann["bbox"]
            ann.update(bbox=[x * sx, y * sy, w * sx, h * sy], area=ann["area"] * sx * sy)
            ann.pop("segmentation")
        coco["categories"] = categories
        (dest / "annotations").mkdir(exist_ok=True)
        (dest / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(coco))
    return dest


def overrides(size: tuple[int, int]) -> dict:
    """The full scale on the copy (its data root: ``load_config``'s): the image size, random backbone init,
    one epoch."""
    return {"train_dataloader.dataset.pipeline.2.scale": size,
            "val_dataloader.dataset.pipeline.1.scale": size, "test_dataloader.dataset.pipeline.1.scale": size,
            "model.backbone.init_cfg": None, "train_cfg.max_epochs": 1, "default_hooks.logger.interval": 10,
            "log_level": "WARNING"}  # the checks print what matters; the Runner's config dumps would bury it


def check_nms(checks: Checks, device: str) -> None:
    """Crowded random boxes of 10 classes, below and above batched_nms's per-class split threshold (10000)."""
    import torch
    from mmcv.ops import batched_nms

    generator = torch.Generator().manual_seed(0)
    for count in (3000, 12000):
        xy = torch.rand(count, 2, generator=generator) * 100
        boxes = torch.cat([xy, xy + 50 + torch.rand(count, 2, generator=generator) * 50], dim=1)
        scores = torch.rand(count, generator=generator)
        labels = torch.randint(0, 10, (count,), generator=generator)
        nms_cfg = dict(type="nms", iou_threshold=0.6)
        dets_cpu, keep_cpu = batched_nms(boxes, scores, labels, nms_cfg)
        dets_dev, keep_dev = batched_nms(boxes.to(device), scores.to(device), labels.to(device), nms_cfg)
        same = torch.equal(keep_cpu, keep_dev.cpu()) and torch.allclose(dets_cpu, dets_dev.cpu())
        checks.record(f"batched_nms {device} == cpu ({count} boxes)", same,
                      f"{len(keep_cpu)} kept on cpu, {len(keep_dev)} on {device}")


def first_losses(model, batch, device: str) -> dict[str, float]:
    model = copy.deepcopy(model).to(device).train()
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode="loss")
    _, log_vars = model.parse_losses(losses)
    return {key: float(value.detach()) if hasattr(value, "detach") else float(value) for key, value in log_vars.items()}


def check_loss_parity(checks: Checks, name: str, cfg, device: str) -> None:
    """The same weights and batch, fp32 on both sides."""
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    from mmengine.runner.utils import set_random_seed

    set_random_seed(0)
    with DefaultScope.overwrite_default_scope("mmdet"):
        model = MODELS.build(copy.deepcopy(cfg.model))
        model.init_weights()
        loader = Runner.build_dataloader({**cfg.train_dataloader, "num_workers": 0, "persistent_workers": False},
                                         seed=0)
    batch = next(iter(loader))
    on_cpu, on_device = first_losses(model, batch, "cpu"), first_losses(model, batch, device)
    worst = max(abs(on_device[k] - on_cpu[k]) / max(1.0, abs(on_cpu[k])) for k in on_cpu)
    shown = ", ".join(f"{k} {on_cpu[k]:.4f}/{on_device[k]:.4f}" for k in on_cpu)
    checks.record(f"{name} first-iteration losses {device} == cpu", worst <= LOSS_TOLERANCE,
                  f"cpu/{device}: {shown}; largest difference {worst:.1e} (tolerance {LOSS_TOLERANCE:g})")


def check_training(checks: Checks, name: str, cfg, device: str, work_dir: Path, iters: int) -> None:
    """``iters`` iterations through the Runner (the training path `o2f train` takes), then validation."""
    import math

    from mmengine.hooks import Hook

    from o2f.pipeline.train import build_runner

    class LastValMetrics(Hook):
        priority = "LOWEST"
        metrics: dict = {}

        def after_val_epoch(self, runner, metrics=None) -> None:
            self.metrics = dict(metrics or {})

    runner = build_runner(copy.deepcopy(cfg), work_dir, resume=False, seed=0)
    metrics_hook = LastValMetrics()
    runner.register_hook(metrics_hook)
    start = time.perf_counter()
    runner.train()
    seconds = time.perf_counter() - start
    losses = runner.message_hub.get_scalar("train/loss").data[0]
    metrics = metrics_hook.metrics
    found = [k for k in metrics if k.endswith(("nms_bbox_mAP", "nonms_bbox_mAP"))]
    ok = len(losses) == iters and all(math.isfinite(v) for v in losses) and len(found) == 2
    ap = ", ".join(f"{k} {metrics[k]:.3f}" for k in sorted(found))
    checks.record(f"{name} trains {iters} iterations on {device}", ok,
                  f"loss {losses[0]:.3f} -> {losses[-1]:.3f} in {seconds:.1f} s; evaluated: {ap or 'nothing'}")


def print_speed(cfg_overrides: dict, data_root: str, device: str, images: int) -> None:
    from o2f.pipeline.speed import device_label, measure
    from o2f.speed_cells import table_value

    width, height = cfg_overrides["val_dataloader.dataset.pipeline.1.scale"]
    timing = {k: v for k, v in cfg_overrides.items() if k.startswith(("val_", "test_", "model."))}
    print(f"Table 5 speed: {device_label(device)}; batch 1, {height}x{width}; median over {images} images", flush=True)
    print(f"{'model':<16} {'forward (ms)':>13} {'NMS (ms)':>9} {'FPS':>6}")
    cache = {}
    for label, (config, with_nms) in TIMED.items():
        speed = cache.setdefault(config, measure(str(ROOT / config), "full", device, images, overrides=timing,
                                                      data_root=data_root))
        print(f"{label:<16} {table_value(speed, 'forward', with_nms):>13.1f} "
              f"{table_value(speed, 'nms', with_nms):>9.2f} {table_value(speed, 'fps', with_nms):>6.1f}", flush=True)


def main() -> None:
    args = parse_args()
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # the Runner then trains on the CPU too
    import mmcv
    import torch

    import o2f.plugin  # noqa: F401  (registers the heads, metrics and hooks)
    from o2f.pipeline.config import load_config

    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_check: torch sees no GPU (torch.cuda.is_available() is False); --device cpu for a smoke run")
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 on both sides of the parity check
    torch.backends.cudnn.allow_tf32 = False
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else "none (smoke run on the CPU)"
    print(f"gpu_check: GPU {gpu}; torch {torch.__version__} (CUDA {torch.version.cuda}); mmcv {mmcv.__version__}; "
          f"{args.iters} iterations at {args.size[0]}x{args.size[1]}", flush=True)
    work_dir = Path(args.work_dir)
    start = time.perf_counter()
    data_root = write_coco_copy(work_dir / "data", args.size, num_train=2 * args.iters,
                                num_val=args.speed_images + 2)
    cfg_overrides, data_root = overrides(args.size), str(data_root.resolve())
    checks = Checks()
    check_nms(checks, args.device)
    for name, config in TRAINED.items():
        cfg = load_config(ROOT / config, "full", cfg_overrides, data_root)
        check_loss_parity(checks, name, cfg, args.device)
        check_training(checks, name, cfg, args.device, work_dir / "runs" / name.replace("+", "-"), args.iters)
    print_speed(cfg_overrides, data_root, args.device, args.speed_images)
    print(f"gpu_check: {checks.passed} passed, {checks.failed} failed in {time.perf_counter() - start:.0f} s")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
