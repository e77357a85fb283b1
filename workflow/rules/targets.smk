# One named target per table or figure, e.g. `snakemake --cores all table5`, and `claims`: the claims
# report over the runs of the configured tables (`--config 'tables=[claims]'` trains every claim's runs).
from o2f.pipeline.plan import CLAIMS


def table_outputs(name):
    return [f"{REPORTS}/{SCALE}/{name}.{ext}" for ext in ("csv", "md", "tex")]


def figure_outputs(name):
    return [f"{REPORTS}/{SCALE}/{name}.{ext}" for ext in ("png", "pdf")]


def report_outputs(name):
    if name == CLAIMS:
        return [f"{REPORTS}/{SCALE}/claims.{ext}" for ext in ("md", "csv", "png")]
    return figure_outputs(name) if name in PLAN.figures else table_outputs(name)


def report_evidence(name):
    """What the report ``name`` reads that runs write. Snakemake reruns a report for a newer input, not for a
    missing one, so a target names these itself: a run its report needs that no kind has trains even where
    the report exists (a clone's committed reports), as the report rules' own inputs would not make it."""
    if name == CLAIMS:
        return PLAN.claim_evidence_files()
    return [*PLAN.evidence_files(name), *PLAN.speed_files(name)]


def evidence_of(names):
    """``report_evidence`` of each report as an input function: Snakemake calls it only for a target it
    builds, so parsing the workflow (every Slurm job parses it twice) reads no run's kind or config."""
    return lambda wildcards: [path for name in names for path in report_evidence(name)]


for _name in [*PLAN.tables, *PLAN.figures, CLAIMS]:

    rule:
        name:
            _name
        input:
            report_outputs(_name),
            evidence_of([_name]),
