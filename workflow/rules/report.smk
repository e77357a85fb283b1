# Tables, figures, the claims report and the index page, rendered from finished experiments' metrics.


rule table:
    input:
        metrics=lambda w: PLAN.metrics_files([w.table]),
        speed=lambda w: PLAN.speed_files(w.table),
    output:
        csv=f"{REPORTS}/{SCALE}/{{table}}.csv",
        md=f"{REPORTS}/{SCALE}/{{table}}.md",
        tex=f"{REPORTS}/{SCALE}/{{table}}.tex",
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
        lambda w: PLAN.metrics_files([w.figure]),
    output:
        png=f"{REPORTS}/{SCALE}/{{figure}}.png",
        pdf=f"{REPORTS}/{SCALE}/{{figure}}.pdf",
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
        PLAN.claim_metrics_files(),
    output:
        md=f"{REPORTS}/{SCALE}/claims.md",
        csv=f"{REPORTS}/{SCALE}/claims.csv",
    log:
        f"logs/{SCALE}/report/claims.log",
    conda:
        ENV
    script:
        "../scripts/render_claims.py"


rule index:
    input:
        [out for name in [*PLAN.settings["tables"], CLAIMS] for out in report_outputs(name)],
    output:
        f"{REPORTS}/{SCALE}/index.html",
    log:
        f"logs/{SCALE}/report/index.log",
    conda:
        ENV
    script:
        "../scripts/render_index.py"
