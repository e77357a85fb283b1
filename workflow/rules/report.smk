# Tables, figures, the claims report and the index page, rendered from finished experiments' metrics.
# Each reads configs/tables.yaml (declared `ancient`: its time stamp alone reruns nothing); its `spec`
# param is a digest of the part of it and of the settings that the report shows, so an edit re-renders
# exactly the reports it changes (params are one of Snakemake's default rerun triggers).


rule table:
    input:
        evidence=lambda w: PLAN.evidence_files(w.table),
        speed=lambda w: PLAN.speed_files(w.table),
        spec=ancient(TABLES),
    output:
        csv=f"{REPORTS}/{SCALE}/{{table}}.csv",
        md=f"{REPORTS}/{SCALE}/{{table}}.md",
        tex=f"{REPORTS}/{SCALE}/{{table}}.tex",
    params:
        spec=lambda w: PLAN.report_digest(w.table),
    wildcard_constraints:
        table="|".join(PLAN.tables),
    log:
        f"logs/{SCALE}/report/{{table}}.log",
    conda:
        ENV
    script:
        "../scripts/render_table.py"


rule figure:
    input:
        evidence=lambda w: PLAN.evidence_files(w.figure),
        spec=ancient(TABLES),
    output:
        png=f"{REPORTS}/{SCALE}/{{figure}}.png",
        pdf=f"{REPORTS}/{SCALE}/{{figure}}.pdf",
    params:
        spec=lambda w: PLAN.report_digest(w.figure),
    wildcard_constraints:
        figure="|".join(PLAN.figures),
    log:
        f"logs/{SCALE}/report/{{figure}}.log",
    conda:
        ENV
    script:
        "../scripts/render_figure.py"


rule claims_report:
    """Every claim's verdict over the runs the configured tables train (the rest read "not run")."""
    input:
        evidence=PLAN.claim_evidence_files(),
        spec=ancient(TABLES),
    output:
        md=f"{REPORTS}/{SCALE}/claims.md",
        csv=f"{REPORTS}/{SCALE}/claims.csv",
        png=f"{REPORTS}/{SCALE}/claims.png",
    params:
        spec=PLAN.report_digest(CLAIMS),
    log:
        f"logs/{SCALE}/report/claims.log",
    conda:
        ENV
    script:
        "../scripts/render_claims.py"


rule index:
    input:
        reports=[out for name in [*PLAN.settings["tables"], CLAIMS] for out in report_outputs(name)],
        spec=ancient(TABLES),
    output:
        f"{REPORTS}/{SCALE}/index.html",
    params:
        spec=PLAN.report_digest(INDEX),
    log:
        f"logs/{SCALE}/report/index.log",
    conda:
        ENV
    script:
        "../scripts/render_index.py"


rule reproduction:
    """Each run this DAG trained (its work dir's metrics) against the evidence git holds: identical on the
    committed run's kind, or the difference; its input is the trainings themselves, so the main job trains
    even where the evidence is committed."""
    input:
        trained=PLAN.metrics_files(),
        spec=ancient(TABLES),
    output:
        f"{REPORTS}/{SCALE}/reproduction.md",
    log:
        f"logs/{SCALE}/report/reproduction.log",
    conda:
        ENV
    script:
        "../scripts/render_reproduction.py"
