"""Snakemake script: reports/index.html with the claims first, then every built table and figure."""

from pathlib import Path

from o2f.pipeline.plan import Plan
from o2f.reporting.index import render_index
from o2f.reporting.results import Results
from o2f.reporting.scale_label import report_title, scale_descriptions

plan = Plan.from_files(snakemake.input.spec, snakemake.config)  # noqa: F821
results = Results(plan)
names = plan.settings["tables"]
tables = {n: (report_title(plan, n), Path(f"{n}.csv")) for n in names if n in plan.tables}
figures = {n: (report_title(plan, n), Path(f"{n}.png")) for n in names if n in plan.figures}
views = [(results.for_report(n), plan.experiments_for([n])) for n in names if n in plan.tables or n in plan.figures]
views += [(results.reading(c.experiments), c.experiments) for c in plan.claims_on_configured_runs()]
devices = sorted({f.get("device", "unknown") for view, experiments in views for e in experiments
                  for f in view.finals(e)})  # the devices of the runs the reports read
render_index(tables, figures, Path(snakemake.output[0]), plan.scale, devices, Path.cwd(),  # noqa: F821
             claims=Path("claims.csv"), claims_png=Path("claims.png"),
             claim_sources={claim.id: claim.sources for claim in plan.claims},
             scale_descriptions=scale_descriptions(plan))
Path(snakemake.log[0]).write_text(f"rendered {snakemake.output[0]}\n")  # noqa: F821
