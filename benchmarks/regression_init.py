"""Why a seed's FCOS box regression can be dead from the start: the share of its regression outputs above
zero per distance (left, top, right, bottom) at initialisation, on the first training batch, per seed.

    .venv/bin/python benchmarks/regression_init.py configs/crowdhuman/fcos_r50_fpn_50e_crowdhuman.py --seeds 0 1 2

mmdet's FCOS head clamps the normalised distances at zero (``norm_on_bbox``): an output below zero gets no
gradient, and a box needs all four distances above zero to have an area, so a seed whose shares start
low trains with degenerate boxes (GIoU loss 1.0) and no gradient to leave them (o2f/failed_run.py).
"""

from __future__ import annotations

import argparse

import torch

import o2f.plugin  # noqa: F401
from o2f.pipeline.config import load_config
from o2f.pipeline.train import build_runner


def shares_above_zero(config: str, scale: str, seed: int, work_dir: str) -> tuple[list[float], float]:
    """Per distance, the share of the regression outputs above zero (mean over FPN levels), and the box loss."""
    cfg = load_config(config, scale, {"precision": "fp32"})
    runner = build_runner(cfg, f"{work_dir}/seed{seed}", resume=False, seed=seed)
    runner._init_model_weights()  # what runner.train() does first
    model = runner.model.train()
    batch = next(iter(runner.build_dataloader(cfg.train_dataloader, seed=seed)))
    outputs = []
    hook = model.bbox_head.conv_reg.register_forward_hook(lambda module, args, out: outputs.append(out.detach()))
    with torch.no_grad():
        losses = model(**model.data_preprocessor(batch, True), mode="loss")
    hook.remove()
    shares = torch.stack([(out > 0).float().mean(dim=(0, 2, 3)) for out in outputs]).mean(0)
    return [float(s) for s in shares], float(losses["loss_bbox"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--work-dir", default="/tmp/o2f_regression_init")
    args = parser.parse_args()
    for seed in args.seeds:
        shares, loss = shares_above_zero(args.config, args.scale, seed, args.work_dir)
        print(f"seed {seed}: above zero (left, top, right, bottom) {', '.join(f'{s:.2f}' for s in shares)}; "
              f"loss_bbox {loss:.4f}", flush=True)


if __name__ == "__main__":
    main()
