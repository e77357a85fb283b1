"""What an ``o2f`` command runs, resolved in one place: an experiment of the plan (``--experiment NAME``: its
config, overrides, work dir, run name, tags and MLflow store come from ``configs/tables.yaml`` and
``configs/pipeline.yaml``) or a config of the user's own with the command line's options."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from ..errors import O2FError
from .layout import load_settings
from .plan import Job, job_plan


def default_scale() -> str:
    """The one default scale of every command: ``configs/pipeline.yaml``'s ``scale``."""
    return load_settings()["scale"]


def json_object(text: str, option: str) -> dict:
    """A command-line option's JSON object, or one line saying what is wrong with it."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise O2FError(f"{option} is not JSON: {err}") from err
    if not isinstance(value, dict):
        raise O2FError(f"{option} expects a JSON object {{key: value}}, got {text}")
    return value


def config_overrides(args: argparse.Namespace) -> dict:
    """The overrides of ``--overrides`` (JSON) and ``--cfg-options`` (typed by hand)."""
    overrides = json_object(args.overrides, "--overrides") if getattr(args, "overrides", None) else {}
    overrides.update(getattr(args, "cfg_options", None) or {})
    return overrides


def dag_settings(args: argparse.Namespace) -> dict | None:
    """``--dag-settings``: where the DAG that started this job writes (``o2f.pipeline.plan.WHERE_SETTINGS``),
    as JSON; not part of a job's identity, so Snakemake passes it outside the rule's params."""
    return json_object(args.dag_settings, "--dag-settings") if getattr(args, "dag_settings", None) else None


def job_config(job: Job):
    """The mmengine config a job runs: its config file at its scale with its overrides."""
    from .config import load_config

    return load_config(job.config, job.scale, job.overrides or None)


def requested_job(args: argparse.Namespace) -> tuple[Job, dict | None]:
    """The job and its MLflow store (None: no tracking) that ``args`` ask for; the command line's
    ``--work-dir``, ``--run-name``, ``--mlflow-uri`` and ``--mlflow-experiment`` win where given."""
    option = lambda name: getattr(args, name, None)  # noqa: E731  (not every command has every option)
    experiment, config = option("experiment"), option("config")
    overrides, where = config_overrides(args), dag_settings(args)
    if experiment and config:
        raise O2FError(f"give a config ({config}) or --experiment {experiment}, not both")
    if experiment:
        if overrides:
            raise O2FError(f"experiment {experiment} takes its overrides from configs/tables.yaml; give its "
                           "config instead to override keys by hand")
        plan = job_plan(args.scale, where=where)
        job, mlflow = plan.job(experiment, option("seed")), dict(plan.settings["mlflow"])
    elif config:
        work_dir = option("work_dir")
        job = Job(None, option("seed"), args.scale or default_scale(), config, overrides,
                  work_dir, Path(work_dir).name if work_dir else "", {})
        mlflow = {"tracking_uri": None, "experiment": "o2f"}
    else:
        raise O2FError(f"{args.command} needs --experiment NAME (an experiment of configs/tables.yaml) or a CONFIG")
    job = replace(job, work_dir=option("work_dir") or job.work_dir, run_name=option("run_name") or job.run_name)
    mlflow = {"tracking_uri": option("mlflow_uri") or mlflow["tracking_uri"],
              "experiment": option("mlflow_experiment") or mlflow["experiment"]}
    return job, mlflow if mlflow["tracking_uri"] else None
