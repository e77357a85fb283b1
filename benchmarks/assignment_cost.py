"""Benchmark: one-to-few assignment per image vs mmdet's FCOS targets, at COCO shapes.

Prints the median time per image for 20, 100 and 300 objects (800x1333 input, ~22k anchors over
P3-P7, 80 classes) and, with --step, one R50-FPN training step of the one-to-few detector for
scale. Goal: assignment <= 1.5x FCOS's targets and < 5 % of a training step.

    .venv/bin/python benchmarks/assignment_cost.py [--device cuda] [--step]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from mmdet.models.dense_heads import FCOSHead
from mmengine.structures import InstanceData

import o2f.plugin  # noqa: F401
from o2f.engine.device import training_device
from o2f.models.o2f_head import O2FHead

STRIDES = [8, 16, 32, 64, 128]
HEIGHT, WIDTH, NUM_CLASSES = 800, 1333, 80


def timed(fn, repeats: int, device: str) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def random_objects(num: int, device: str) -> InstanceData:
    g = torch.Generator().manual_seed(num)
    xy = torch.rand(num, 2, generator=g) * torch.tensor([WIDTH - 40, HEIGHT - 40])
    wh = 8 + torch.rand(num, 2, generator=g) * 300
    boxes = torch.cat([xy, torch.minimum(xy + wh, torch.tensor([WIDTH, HEIGHT]))], 1)
    return InstanceData(bboxes=boxes.to(device), labels=torch.randint(0, NUM_CLASSES, (num,), generator=g).to(device))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=training_device())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--step", action="store_true", help="also time one R50-FPN training step")
    args = parser.parse_args()
    device = args.device
    sizes = [((HEIGHT + s - 1) // s, (WIDTH + s - 1) // s) for s in STRIDES]
    o2f = O2FHead(num_classes=NUM_CLASSES, in_channels=256, strides=STRIDES,
                  train_cfg=dict(assigner=dict(type="OneToFewAssigner"))).to(device)
    fcos = FCOSHead(num_classes=NUM_CLASSES, in_channels=256, strides=STRIDES, center_sampling=True,
                    norm_on_bbox=True, centerness_on_reg=True).to(device)
    priors = torch.cat(o2f.prior_generator.grid_priors(sizes, device=device, with_stride=True))
    points = fcos.prior_generator.grid_priors(sizes, device=device)
    joint = torch.rand(len(priors), NUM_CLASSES, device=device) * 0.3
    boxes = torch.cat([priors[:, :2] - 40, priors[:, :2] + 40], 1)
    print(f"device: {torch.cuda.get_device_name(0) if device == 'cuda' else 'cpu'} "
          f"({torch.get_num_threads()} threads); anchors per image: {len(priors)}")
    print(f"{'objects':>8} {'o2f assign (ms)':>16} {'FCOS targets (ms)':>18} {'ratio':>6}")
    for num in (20, 100, 300):
        gt = random_objects(num, device)
        t_o2f = timed(lambda gt=gt: o2f.get_targets_single(priors, joint, boxes, gt), args.repeats, device)
        t_fcos = timed(lambda gt=gt: fcos.get_targets(points, [gt]), args.repeats, device)
        print(f"{num:>8} {t_o2f:>16.1f} {t_fcos:>18.1f} {t_o2f / t_fcos:>6.2f}")
    if args.step:
        time_training_step(device, args.repeats)


def time_training_step(device: str, repeats: int) -> None:
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules
    from mmengine.config import Config

    register_all_modules()
    cfg = Config.fromfile("configs/o2f/o2f_r50_fpn_1x_coco.py")
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)
    images = torch.randn(2, 3, HEIGHT, WIDTH, device=device)
    samples = []
    for _ in range(2):
        sample = DetDataSample(metainfo=dict(img_shape=(HEIGHT, WIDTH), pad_shape=(HEIGHT, WIDTH)))
        sample.gt_instances = random_objects(100, device)
        samples.append(sample)

    def step():
        optimizer.zero_grad()
        losses = model.loss(images, samples)
        sum(losses.values()).backward()
        optimizer.step()

    print(f"R50-FPN one-to-few training step, 2 images, 100 objects each: "
          f"{timed(step, max(1, repeats // 2), device):.0f} ms")


if __name__ == "__main__":
    main()
