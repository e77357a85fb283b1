"""Snakemake script: reports/<scale>/claims.{md,csv}, each claim's verdict over the runs that finished."""

from pathlib import Path

from o2f.pipeline.plan import Plan
from o2f.pipeline.reporting.claims import claims_frame, evaluate_claims, write_claims
from o2f.pipeline.reporting.results import Results

plan = Plan.from_files(snakemake.input.spec, snakemake.config)  # noqa: F821
seeds = plan.settings["seeds"]
frame = claims_frame(evaluate_claims(plan, Results(plan)), seeds)
write_claims(frame, Path(snakemake.output.md).with_suffix(""), plan.scale, seeds)  # noqa: F821
Path(snakemake.log[0]).write_text(f"rendered {snakemake.output.md}\n")  # noqa: F821
