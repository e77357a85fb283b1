# One job per experiment and seed: train, evaluate with and without NMS every epoch, log to MLflow.
# A killed job rerun resumes from its last checkpoint and continues the same MLflow run; its output
# (final_metrics.json) is written only when training finished.


rule mlflow_store:
    """Create the MLflow store and experiment once, before parallel training jobs could race on it."""
    output:
        touch(MLFLOW_READY),
    params:
        o2f=O2F,
        uri=config["mlflow"]["tracking_uri"],
        experiment=config["mlflow"]["experiment"],
    log:
        f"logs/{SCALE}/mlflow_store.log",
    conda:
        ENV
    shell:
        "{params.o2f} mlflow-init --uri {params.uri:q} --experiment {params.experiment:q} > {log} 2>&1"


rule train:
    input:
        data=lambda w: PLAN.dataset_inputs(w.experiment),
        mlflow=MLFLOW_READY,
    output:
        PLAN.layout.metrics_file("{experiment}", "{seed}"),
    params:
        o2f=O2F,
        args=lambda w: PLAN.train_command(w.experiment, int(w.seed)),
    threads: TRAIN_RESOURCES["threads"]
    resources:
        mem_mb=TRAIN_RESOURCES["mem_mb"],
        runtime=TRAIN_RESOURCES["runtime"],
        gpu=TRAIN_RESOURCES["gpus"],
    log:
        f"logs/{SCALE}/train/{{experiment}}_seed{{seed}}.log",
    conda:
        ENV
    shell:
        "{params.o2f} train {params.args} --gpus {resources.gpu} > {log} 2>&1"


rule evidence:
    """A finished run's evidence (o2f/pipeline/evidence.py): what the reports read, committed. Its input is
    `ancient`: committed evidence is not redone for a work dir that is missing, so `render` trains nothing;
    a training that runs replaces its evidence (git shows whether it changed)."""
    input:
        ancient(PLAN.layout.metrics_file("{experiment}", "{seed}")),
    output:
        PLAN.layout.evidence_file("{experiment}", "{seed}"),
    params:
        o2f=O2F,
        args=lambda w: PLAN.evidence_command(w.experiment, int(w.seed)),
    log:
        f"logs/{SCALE}/evidence/{{experiment}}_seed{{seed}}.log",
    conda:
        ENV
    shell:
        "{params.o2f} evidence {params.args} > {log} 2>&1"
