"""Where a training iteration's time goes at a scale: data loading, forward + loss, backward + step.

    .venv/bin/python benchmarks/train_step.py configs/o2f/o2f_r50_fpn_1x_coco.py --scale demo --steps 20
    .venv/bin/python benchmarks/train_step.py configs/o2f/o2f_r50_fpn_1x_coco.py --scale demo --compare
    .venv/bin/python benchmarks/train_step.py configs/o2f/o2f_r50_fpn_1x_coco.py --scale demo --profile

Prints the median milliseconds of each part over the timed steps (the first steps warm up), with the
thread count, precision and CPU (its bf16 instructions decide how fast oneDNN's bf16 kernels are).
``--compare`` builds the recipe twice in one process, as it was (``original_recipe.py``: float32, NCHW
backbone, per-tensor AdamW, images decoded every time, the 3D max filter pooling every level of its stack)
and as the scale now sets it, alternates their steps so both see the same machine load, prints both and, on its
last line, the ratio of their totals. ``--profile`` runs the timed steps under ``torch.profiler`` and
prints where the operators' time goes, by kind of operator. Every run prints the GFLOP of one step
(``torch.utils.flop_counter``, forward + backward + optimizer), the TFLOP/s each recipe achieves and the
machine's limit beside it: the rate of its best convolution in the recipe's precision, and how long a step
would take at that rate.
``--against KEY=VALUE ...`` alternates the recipe with itself under those overrides instead (one lever
switched off: the A/B behind docs/step_cost.md's channels-last neck and head).
``--prefetch`` times the batches loaded on a thread while the step before trains (the demo's
``PrefetchingEpochBasedTrainLoop``) against loaded inline, in alternating blocks of consecutive steps (a
thread left running through the other recipe's steps would hide its loading for free): a block's wall
time over its steps, waits for the thread included.
``--compile neck,bbox_head`` times the recipe with those modules' training forward under ``torch.compile``
(inductor) and prints the compile time: the measurement behind docs/step_cost.md's "did not pay".
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import statistics
import time

import torch
from mmengine.config import DictAction
from original_recipe import load_original

from o2f.engine.device import device_name
from o2f.engine.precision import WRAPPERS
from o2f.engine.prefetch import prefetched
from o2f.pipeline.config import load_config
from o2f.pipeline.train import build_runner

PARTS = ("data", "forward+loss", "backward+step")
# Operator kinds for --profile: the first whose fragment is in the operator's name (forward and backward).
OPERATOR_KINDS = {"convolution": ("convolution",), "batch norm": ("batch_norm",),
                  "group norm": ("group_norm", "GroupNorm"),  # torch's, and o2f/models/nhwc_group_norm.py's
                  "casts": ("aten::copy_", "aten::_to_copy"), "ReLU": ("threshold", "relu", "clamp_min"),
                  "max-pool": ("max_pool",), "optimizer": ("adam",)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (a demo job uses 1)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--compare", action="store_true", help="time the recipe as it was (original_recipe.py) beside it")
    what.add_argument("--profile", action="store_true", help="print the timed steps' operator time by kind")
    what.add_argument("--prefetch", action="store_true",
                      help="time the next batch loaded on a thread against loaded inline (blocks of steps)")
    what.add_argument("--against", nargs="+", action=DictAction, default=None, metavar="KEY=VALUE",
                      help="time the recipe with these config overrides beside it: an A/B of one lever")
    parser.add_argument("--compile", default=None, metavar="MODULES",
                        help="comma-separated model attributes (backbone, neck, bbox_head) whose training forward "
                             "the timed recipe runs under torch.compile (docs/step_cost.md)")
    parser.add_argument("--work-dir", default="/tmp/o2f_train_step")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default=None,
                        help="config overrides, as for `o2f train`, to time a changed recipe")
    return parser.parse_args()


class Recipe:
    """One built runner whose steps are timed part by part, as mmengine's ``BaseModel.train_step`` runs them."""

    def __init__(self, name: str, cfg, work_dir: str) -> None:
        self.name = name
        self.cfg = cfg
        runner = build_runner(self.cfg, f"{work_dir}/{name}", resume=False, seed=0)
        self.model = runner.model
        self.optim_wrapper = runner.build_optim_wrapper(self.cfg.optim_wrapper)
        self.loader = iter(runner.build_dataloader(self.cfg.train_dataloader, seed=0))
        self.model.train()
        self.times: dict[str, list[float]] = {part: [] for part in PARTS}

    def step(self, record: bool) -> None:
        t0 = time.perf_counter()
        batch = next(self.loader)
        t1 = time.perf_counter()
        self.compute(batch, record, t0, t1)

    def compute(self, batch, record: bool = False, t0: float = 0.0, t1: float = 0.0) -> None:
        with self.optim_wrapper.optim_context(self.model):
            data = self.model.data_preprocessor(batch, True)
            losses = self.model(**data, mode="loss")
        loss, _ = self.model.parse_losses(losses)
        t2 = time.perf_counter()
        self.optim_wrapper.update_params(loss)
        t3 = time.perf_counter()
        if record:
            for part, seconds in zip(PARTS, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                self.times[part].append(seconds * 1000)

    def report(self) -> float:
        total = sum(statistics.median(v) for v in self.times.values())
        print(f"{self.name}: optim_wrapper={self.cfg.optim_wrapper.type} "
              f"batch={self.cfg.train_dataloader.batch_size}")
        for part, values in self.times.items():
            print(f"  {part:14s} {statistics.median(values):8.1f} ms (median of {len(values)})")
        print(f"  {'total':14s} {total:8.1f} ms")
        return total


def time_prefetch(recipe: Recipe, steps: int, block: int = 10) -> None:
    """Median ms a step, loaded inline and on a thread, in alternating blocks of ``block`` steps."""
    per_step: dict[str, list[float]] = {"inline": [], "thread": []}
    for _ in range(max(1, steps // block)):
        for how in per_step:
            batches = prefetched(recipe.loader) if how == "thread" else recipe.loader
            start, taken = time.perf_counter(), 0
            for _, batch in zip(range(block), batches, strict=False):
                recipe.compute(batch)
                taken += 1
            if taken < block:  # the epoch's loader ran out: ask for fewer --steps
                raise SystemExit(f"the loader ran out after {taken} steps of a block of {block}; use fewer --steps")
            per_step[how].append((time.perf_counter() - start) * 1000 / block)
            if how == "thread":
                batches.close()  # stops the thread; the batch it held is dropped
    inline, thread = (statistics.median(v) for v in per_step.values())
    print(f"inline loading {inline:.1f} ms a step, on a thread {thread:.1f} ms (median of {len(per_step['inline'])} "
          f"blocks of {block}): thread / inline {thread / inline:.2f}x")


def compile_training_forward(model: torch.nn.Module, names: str) -> None:
    """Run the named submodules' forward under ``torch.compile`` in training; evaluation stays eager (a
    compiled graph per eval shape would cost more than it saves on 17 images). State-dict keys are unchanged.
    With the channels-last backbone, inductor (torch 2.9.1, bf16 autocast on CPU) returns NaN gradients
    for every backbone parameter: see docs/step_cost.md."""
    for name in names.split(","):
        module = getattr(model, name)
        eager, compiled = module.forward, torch.compile(module.forward, dynamic=False)
        module.forward = (lambda m, c, e: lambda *a, **k: c(*a, **k) if m.training else e(*a, **k))(
            module, compiled, eager)


def step_gflop(recipe: Recipe) -> float:
    """GFLOP of one training step (forward, backward and optimizer) as torch's FLOP counter counts them:
    convolutions, matrix products and the like, the work a faster step cannot avoid."""
    from torch.utils.flop_counter import FlopCounterMode

    batch = next(recipe.loader)
    counter = FlopCounterMode(display=False)
    with counter:
        recipe.compute(batch)
    return counter.get_total_flops() / 1e9


def convolution_rate(dtype: torch.dtype, repeats: int = 30) -> float:
    """TFLOP/s of one 3x3 convolution forward (64 -> 64 channels over 8 x 32 x 32 channels-last maps, the
    demo head's commonest) on the current threads, its fastest of ``repeats`` calls: a near-best case for
    oneDNN on this CPU, so a step's GFLOP over it is how fast the step would be if all its work ran so."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1, bias=False).to(dtype=dtype, memory_format=torch.channels_last)
    x = torch.randn(8, 64, 32, 32, dtype=dtype).to(memory_format=torch.channels_last)
    fastest = float("inf")
    with torch.no_grad():
        for _ in range(3):  # warm-up: oneDNN builds its kernel on the first call
            conv(x)
        for _ in range(repeats):
            start = time.perf_counter()
            conv(x)
            fastest = min(fastest, time.perf_counter() - start)
    return 2 * 8 * 32 * 32 * 64 * 64 * 9 / fastest / 1e12


def recipe_dtype(recipe: Recipe) -> torch.dtype:
    return torch.bfloat16 if recipe.cfg.optim_wrapper.type == WRAPPERS["bf16"] else torch.float32


def operator_kind(name: str) -> str:
    return next((kind for kind, parts in OPERATOR_KINDS.items() if any(p in name for p in parts)), "other")


def print_operator_time(profiler: torch.profiler.profile, steps: int, largest_others: int = 8) -> None:
    """Self time of the profiled operators by kind, per step, and the largest of those of no kind ("other":
    the head's, assignment's and losses' small operators, the data pipeline's): what a faster step would cut."""
    by_kind: collections.Counter = collections.Counter()
    others: collections.Counter = collections.Counter()
    for event in profiler.key_averages():
        kind, ms = operator_kind(event.key), event.self_cpu_time_total / 1000 / steps
        by_kind[kind] += ms
        if kind == "other":
            others[event.key] += ms
    total = sum(by_kind.values())
    print(f"operator time {total:.1f} ms a step (profiled): "
          + ", ".join(f"{kind} {ms:.1f} ({ms / total:.0%})" for kind, ms in by_kind.most_common()))
    print("largest other: " + ", ".join(f"{name} {ms:.1f}" for name, ms in others.most_common(largest_others)))


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    now = {**(args.cfg_options or {})}
    recipes = [Recipe("now", load_config(args.config, args.scale, now), args.work_dir)]
    if args.compile:
        compile_training_forward(recipes[0].model, args.compile)
        start = time.perf_counter()
        recipes[0].step(record=False)
        print(f"compile ({args.compile}) and first step: {time.perf_counter() - start:.1f} s", flush=True)
    if args.compare:
        recipes.insert(0, Recipe("was", load_original(args.config, args.scale, now), args.work_dir))
    if args.against:
        recipes.insert(0, Recipe("against", load_config(args.config, args.scale, {**now, **args.against}),
                                 args.work_dir))
    if args.prefetch:
        for _ in range(args.warmup):
            recipes[0].step(record=False)
        print(f"{args.config} scale={args.scale} threads={torch.get_num_threads()} on {device_name()}")
        time_prefetch(recipes[0], args.steps)
        return
    for _ in range(args.warmup):
        for recipe in recipes:
            recipe.step(record=False)
    profiling = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) if args.profile \
        else contextlib.nullcontext()
    with profiling:
        for _ in range(args.steps):
            for recipe in recipes:
                recipe.step(record=True)
    gflop = step_gflop(recipes[0])  # with --compare the eager recipe as it was: the same FLOPs, counted eagerly
    print(f"{args.config} scale={args.scale} threads={torch.get_num_threads()} on {device_name()}")
    totals = [recipe.report() for recipe in recipes]
    rates = (f"{recipe.name} {gflop / total:.2f} TFLOP/s" for recipe, total in zip(recipes, totals, strict=True))
    print(f"{gflop:.1f} GFLOP a step (torch.utils.flop_counter): " + ", ".join(rates))
    limits = {dtype: convolution_rate(dtype) for dtype in dict.fromkeys(map(recipe_dtype, recipes))}
    at_limit = [(recipe.name, gflop / limits[recipe_dtype(recipe)], total) for recipe, total in zip(recipes, totals,
                                                                                                     strict=True)]
    print("this CPU's limit, its best convolution (3x3, 64 channels, 8 x 32 x 32, forward): "
          + ", ".join(f"{str(dtype).removeprefix('torch.')} {rate:.2f} TFLOP/s" for dtype, rate in limits.items())
          + "; a step at it: " + ", ".join(f"{name} {ms:.1f} ms ({ms / total:.0%} of its time)"
                                           for name, ms, total in at_limit))
    if args.profile:
        print_operator_time(profiling, args.steps)  # --profile excludes --compare: one recipe
    if len(recipes) == 2:
        print(f"now / {recipes[0].name}: {totals[1]:.1f} / {totals[0]:.1f} ms = {totals[1] / totals[0]:.2f}x")


if __name__ == "__main__":
    main()
