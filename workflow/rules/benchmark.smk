# Speed of each model shown in a table's speed columns (Table 5): forward, selection and NMS
# per image on the job's device. Weights are random, so it needs no training. Run locally it claims every core
# the DAG has, so it runs alone and never competes with a training (a cluster job has its own allocation), and
# it times on a training's thread count (TIMING_THREADS). A measurement, committed beside the runs' evidence, is
# not redone because the DAG trains runs of its table (no training is its input) or writes its data
# (PLAN.speed_inputs).


rule speed:
    input:
        data=ancient(lambda w: PLAN.speed_inputs(w.experiment)),
    output:
        PLAN.layout.speed_file("{experiment}"),
    params:
        spec=lambda w: PLAN.spec_digest(w.experiment),
    threads: lambda wildcards: workflow.cores if workflow.local_exec else TIMING_THREADS  # a cluster job has its own
    resources:
        gpu=min(TRAIN_RESOURCES["gpus"], 1),
    log:
        f"logs/{SCALE}/speed/{{experiment}}.log",
    conda:
        ENV
    shell:
        "{O2F} speed --experiment {wildcards.experiment} --scale {SCALE} --threads {TIMING_THREADS} "
        "--dag-settings {DAG_SETTINGS:q} > {log} 2>&1"
