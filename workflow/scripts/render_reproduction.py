"""Snakemake script: reports/<scale>/reproduction.md, each run this DAG trained against its committed evidence."""

from pathlib import Path

from o2f.pipeline.plan import Plan
from o2f.reporting.reproduction import reproductions, write_reproduction

plan = Plan.from_files(snakemake.input.spec, snakemake.config)  # noqa: F821
runs = [(e, s, plan.metrics_file(e, s), plan.layout.experiment_evidence(e))
        for e in plan.experiments_for() for s in plan.settings["seeds"]]
write_reproduction(reproductions(Path.cwd(), runs), Path(snakemake.output[0]))  # noqa: F821
Path(snakemake.log[0]).write_text(f"rendered {snakemake.output[0]}\n")  # noqa: F821
