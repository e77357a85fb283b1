"""A whole demo training's wall time under the recipe as it was (``original_recipe.py``) and as it is:
building the runner, every epoch's steps, evaluation with and without NMS and the checkpoint each epoch,
as ``o2f train`` runs them.

    .venv/bin/python benchmarks/training_wall.py configs/o2f/o2f_r50_fpn_1x_coco.py --scale demo

Each recipe trains from scratch in its own process on one torch thread (a demo job's count) and its own
work dir, one after the other so each has the machine to itself (``--together``: both at once, as two
campaign jobs run; the faster finishes first and the other then has the machine to itself, so the ratio
reads a little low). A process's wall time counts its imports too. The last line prints the
ratio of the two; the lines above, each training's final AP with and without NMS, so a run that went wrong
shows. The step alone: ``train_step.py --compare``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RECIPES = ("was", "now")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of each training (a demo job uses 1)")
    parser.add_argument("--epochs", type=int, default=None, help="fewer epochs than the schedule's (a quick look)")
    parser.add_argument("--together", action="store_true", help="train both at once, one process per core")
    parser.add_argument("--work-dir", default="/tmp/o2f_training_wall")
    parser.add_argument("--recipe", choices=RECIPES, default=None, help=argparse.SUPPRESS)  # one training (child)
    return parser.parse_args()


def train_one(args: argparse.Namespace) -> None:
    """The child: one training under ``args.recipe``, from scratch."""
    import torch
    from original_recipe import load_original

    from o2f.pipeline.config import load_config
    from o2f.pipeline.train import train

    torch.set_num_threads(args.threads)
    overrides = {"train_cfg.max_epochs": args.epochs} if args.epochs else {}
    cfg = (load_original if args.recipe == "was" else load_config)(args.config, args.scale, overrides)
    train(cfg, Path(args.work_dir) / args.recipe, resume=False, seed=args.seed)


def timed_training(args: argparse.Namespace, recipe: str) -> float:
    """One training in a child process: its wall time, or stop naming its log when it failed."""
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    command = [sys.executable, __file__, args.config, "--scale", args.scale, "--seed", str(args.seed),
               "--threads", threads, "--work-dir", args.work_dir, "--recipe", recipe]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    log = Path(args.work_dir) / f"{recipe}.log"
    start = time.perf_counter()
    with open(log, "w") as output:
        code = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, env=env).returncode
    seconds = time.perf_counter() - start
    if code:
        raise SystemExit(f"the {recipe} training failed (exit {code}); its log: {log}")
    return seconds


def final_line(args: argparse.Namespace, recipe: str) -> str:
    """The training's final AP with and without NMS, from its work dir's final metrics."""
    from o2f.work_dir import FINAL_METRICS

    record = json.loads((Path(args.work_dir) / recipe / FINAL_METRICS).read_text())
    final = record["final"]
    metrics = ", ".join(f"{name} {final.get(f'coco/{name}_bbox_mAP', float('nan')):.3f}" for name in ("nms", "nonms"))
    return f"final AP: {metrics}" + ("; flagged failed (o2f/failed_run.py)" if record["failed"] else "")


def main() -> None:
    args = parse_args()
    if args.recipe:
        train_one(args)
        return
    from o2f.engine.device import device_name

    Path(args.work_dir).mkdir(parents=True, exist_ok=True)
    how = "together, one core each" if args.together else "one after the other"
    print(f"{args.config} scale={args.scale} seed={args.seed} threads={args.threads} {how} on {device_name()}",
          flush=True)
    with ThreadPoolExecutor(len(RECIPES) if args.together else 1) as pool:
        seconds = dict(zip(RECIPES, pool.map(lambda recipe: timed_training(args, recipe), RECIPES), strict=True))
    for recipe in RECIPES:
        print(f"{recipe}: {seconds[recipe]:8.1f} s  ({final_line(args, recipe)})")
    print(f"now / was: {seconds['now']:.1f} / {seconds['was']:.1f} s = {seconds['now'] / seconds['was']:.2f}x")


if __name__ == "__main__":
    main()
