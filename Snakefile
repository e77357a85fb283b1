# The o2f reproduction DAG: data -> one training job per experiment -> tables and figures.
#   snakemake --cores all                          headline set at the demo scale (configs/pipeline.yaml)
#   snakemake --cores all --config 'tables=[all]'  every table;  add --profile slurm on a cluster
include: "workflow/rules/common.smk"
include: "workflow/rules/targets.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/benchmark.smk"
include: "workflow/rules/report.smk"


# The default target lives here: Snakemake takes it from the main Snakefile only. It trains the
# configured runs (reproduction.md compares them with their committed evidence) and renders the reports.
rule all:
    default_target: True
    input:
        f"{REPORTS}/{SCALE}/index.html",
        f"{REPORTS}/{SCALE}/reproduction.md",


# Every report of the configured tables from the evidence alone: in a fresh clone with the evidence
# committed, `snakemake -n render` plans report jobs and no training; a run they need without evidence
# (another seed or claim configured) trains.
rule render:
    input:
        f"{REPORTS}/{SCALE}/index.html",
        evidence_of(dict.fromkeys([*PLAN.settings["tables"], CLAIMS])),
