"""Snakemake script: reports/<scale>/claims.{md,csv,png}, each claim's verdicts over the runs that finished."""

from pathlib import Path

from o2f.pipeline.plan import Plan
from o2f.reporting.claims import claims_frame, evaluate_claims, plot_rows, provenance, scale_note, write_claims
from o2f.reporting.claims_plot import plot_claims
from o2f.reporting.results import Results

plan = Plan.from_files(snakemake.input.spec, snakemake.config)  # noqa: F821
seeds = plan.settings["seeds"]
outcomes = evaluate_claims(plan, Results(plan))
write_claims(claims_frame(outcomes, seeds), Path(snakemake.output.md).with_suffix(""), plan.scale, seeds,  # noqa: F821
             scale_note(plan), provenance(outcomes))
plot_claims(plot_rows(outcomes), Path(snakemake.output.png),  # noqa: F821
            f"Claims at scale {plan.scale}, seeds {', '.join(map(str, seeds))}: bootstrap 95 % interval (seeds and "
            "images; thin: seed t; the verdict reads both), the paper's value (scaled), the threshold")
Path(snakemake.log[0]).write_text(f"rendered {snakemake.output.md}\n")  # noqa: F821
