# Speed of each model shown in a table's speed columns (Table 5): forward, selection and NMS
# per image on the job's device, after the trainings this DAG runs, so it never competes with one (a run
# trained elsewhere is not waited for, nor retrained). Kept beside the runs' evidence; `ancient` inputs: a
# committed measurement is not redone for a missing work dir.


rule speed:
    input:
        data=ancient(lambda w: PLAN.dataset_inputs(w.experiment)),
        trained=ancient(lambda w: PLAN.trainings_here([t for t in PLAN.settings["tables"] if t in PLAN.tables])),
    output:
        PLAN.layout.speed_file("{experiment}"),
    params:
        spec=lambda w: PLAN.spec_digest(w.experiment),
    threads: TRAIN_RESOURCES["threads"]
    resources:
        gpu=min(TRAIN_RESOURCES["gpus"], 1),
    log:
        f"logs/{SCALE}/speed/{{experiment}}.log",
    conda:
        ENV
    shell:
        "{O2F} speed --experiment {wildcards.experiment} --scale {SCALE} --dag-settings {DAG_SETTINGS:q} > {log} 2>&1"
