"""Snakemake script: one training-curve figure (PNG and PDF)."""

from pathlib import Path

from o2f.pipeline.plan import Plan
from o2f.reporting.figures import curves_figure, score_map_figure
from o2f.reporting.results import Results

plan = Plan.from_files(snakemake.input.spec, snakemake.config)  # noqa: F821
name = snakemake.wildcards.figure  # noqa: F821
render = score_map_figure if plan.figures[name].get("kind") == "score_maps" else curves_figure
render(plan, Results(plan).for_report(name), name, Path(snakemake.output.png).with_suffix(""))  # noqa: F821
Path(snakemake.log[0]).write_text(f"rendered {snakemake.output[0]}\n")  # noqa: F821
