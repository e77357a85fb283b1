# Settings, validated before any job starts, and the experiment plan from configs/tables.yaml.
import json
import shlex
import sys
from pathlib import Path

from snakemake.utils import validate

from o2f.errors import O2FError
from o2f.pipeline.layout import load_settings
from o2f.pipeline.plan import INDEX, WHERE_SETTINGS, Plan


configfile: "configs/pipeline.yaml"


TABLES = "configs/tables.yaml"  # the experiments, tables, figures and claims


try:
    validate(config, "../schemas/pipeline.schema.yaml")
except Exception as err:  # one line naming the bad setting, not a schema dump
    lines = [line for line in str(err).splitlines() if line.strip()]
    sys.exit(f"o2f: error: invalid DAG settings: {lines[1] if len(lines) > 1 else lines[0]}")

try:
    if config["scales"] != load_settings(Path.cwd())["scales"]:  # every job reads them from the file
        raise O2FError("scales (data roots, schedules, resources) are read by every job from configs/pipeline.yaml; "
                       "edit them there, not with --config or --configfile")
    PLAN = Plan.from_files(TABLES, config)
    PLAN.check_data_roots()
    from o2f.pipeline.config import check_distinct_experiments

    check_distinct_experiments(PLAN, cache=Path(".snakemake/o2f_trained_digests.json"))
    if config["mlflow"]["tracking_uri"].startswith("http"):
        from o2f.pipeline.tracking import client

        client(config["mlflow"]["tracking_uri"])  # unreachable server: fail before any job starts
except O2FError as err:
    sys.exit(f"o2f: error: {err}")

SCALE = PLAN.scale
REPORTS = PLAN.settings["reports_dir"]
TRAIN_RESOURCES = PLAN.scale_settings["train"]
TIMING_THREADS = TRAIN_RESOURCES["threads"]  # a speed is timed on the threads a training computes on
# What a job runs and where it writes are globals its shell command names, not params: Snakemake reruns a
# job whose params changed, and neither the interpreter (another environment) nor the MLflow store or the
# work root (another place) changes what a job trains. A job's params are its identity (o2f.pipeline.plan).
O2F = f"{sys.executable} -m o2f.pipeline.cli"  # the project's own interpreter: no activated environment needed
DAG_SETTINGS = json.dumps({key: config[key] for key in WHERE_SETTINGS}, sort_keys=True)
# The software of every rule (used with --use-conda; by default jobs run in the project's .venv).
ENV = "../../environment.yml"
