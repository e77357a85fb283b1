"""Snakemake script: one paper table with our numbers (CSV with each seed's value, Markdown, LaTeX)."""

from pathlib import Path

from o2f.pipeline.plan import Plan
from o2f.reporting.results import Results
from o2f.reporting.tables import cells_note, runs_note, table_frame, table_title, write_table

plan = Plan.from_files(snakemake.input.spec, snakemake.config)  # noqa: F821
name = snakemake.wildcards.table  # noqa: F821
results = Results(plan).for_report(name)
frame = table_frame(plan, results, name, seeds=True)
write_table(frame, table_title(plan, name), Path(snakemake.output.csv).with_suffix(""), plan.scale,  # noqa: F821
            results.speed_devices(name), cells_note(plan, name) + runs_note(plan, results, name))
Path(snakemake.log[0]).write_text(f"rendered {snakemake.output[0]}\n")  # noqa: F821
