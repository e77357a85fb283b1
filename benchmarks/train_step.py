"""Where a training iteration's time goes at a scale: data loading, forward + loss, backward + step.

    .venv/bin/python benchmarks/train_step.py configs/o2f/o2f_r50_fpn_1x_coco.py --scale demo --steps 20

Prints the median milliseconds of each part over the timed steps (the first steps warm up), with the
thread count and memory format, so recipes and settings can be compared side by side.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from mmengine.config import DictAction

from o2f.config import load_config
from o2f.train import build_runner


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--channels-last", action="store_true", help="model and inputs in channels-last format")
    parser.add_argument("--bf16", action="store_true", help="forward and loss under CPU bfloat16 autocast")
    parser.add_argument("--work-dir", default="/tmp/o2f_train_step")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default=None,
                        help="config overrides, as for `o2f train`, to time a changed recipe")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.scale, args.cfg_options)
    runner = build_runner(cfg, args.work_dir, resume=False, seed=0)
    model = runner.model
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    loader = iter(runner.build_dataloader(cfg.train_dataloader, seed=0))
    model.train()
    parts: dict[str, list[float]] = {"data": [], "forward+loss": [], "backward+step": []}
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        batch = next(loader)
        t1 = time.perf_counter()
        data = model.data_preprocessor(batch, True)
        inputs = data["inputs"].contiguous(memory_format=torch.channels_last) if args.channels_last \
            else data["inputs"]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
            losses = model.loss(inputs, data["data_samples"])
        loss, _ = model.parse_losses(losses)
        t2 = time.perf_counter()
        optim_wrapper.update_params(loss)
        t3 = time.perf_counter()
        if step >= args.warmup:
            for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                parts[name].append(seconds * 1000)
    total = sum(statistics.median(v) for v in parts.values())
    print(f"{args.config} scale={args.scale} threads={torch.get_num_threads()} "
          f"channels_last={args.channels_last} bf16={args.bf16} batch={cfg.train_dataloader.batch_size}")
    for name, values in parts.items():
        print(f"  {name:14s} {statistics.median(values):8.1f} ms (median of {len(values)})")
    print(f"  {'total':14s} {total:8.1f} ms")


if __name__ == "__main__":
    main()
