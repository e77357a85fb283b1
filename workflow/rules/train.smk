# One job per experiment and seed: train, evaluate with and without NMS every epoch, log to MLflow.
# A killed job rerun resumes from its last checkpoint and continues the same MLflow run; its output
# (final_metrics.json) is written only when training finished.


onstart:
    # The MLflow store and experiment, created once before any job starts, so parallel training jobs never
    # race to create them; a store is not a job of the DAG, so moving to another one reruns nothing.
    if config["mlflow"]["tracking_uri"]:
        shell(f"{O2F} mlflow-init --uri {shlex.quote(config['mlflow']['tracking_uri'])} "
              f"--experiment {shlex.quote(config['mlflow']['experiment'])}")


rule train:
    input:
        data=lambda w: PLAN.dataset_inputs(w.experiment),
    output:
        PLAN.layout.metrics_file("{experiment}", "{seed}"),
    params:
        identity=lambda w: f"{w.experiment} seed {w.seed} at scale {SCALE}",
        spec=lambda w: PLAN.spec_digest(w.experiment),
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
        "{O2F} train --experiment {wildcards.experiment} --seed {wildcards.seed} --scale {SCALE} "
        "--dag-settings {DAG_SETTINGS:q} --gpus {resources.gpu} > {log} 2>&1"


rule evidence:
    """A finished run's evidence (o2f/pipeline/evidence.py), in the folder of the kind it ran on: what the
    reports read, committed. Committed evidence of the experiment's present spec without a run of its kind
    in the work dir (a fresh clone, another machine) stands for the run: no training is planned for it, so
    `render` trains nothing and a campaign continued elsewhere adds runs without redoing any. A training
    that runs here replaces its kind's evidence (reproduction.md and git show whether it changed). Its
    priority writes a finished training's evidence before the next training starts, so a campaign stopped
    part-way leaves no finished run without evidence to commit."""
    priority: 1
    input:
        lambda w: [] if PLAN.trained_elsewhere(w.experiment, int(w.seed), w.kind) else PLAN.metrics_file(w.experiment, w.seed),
    output:
        PLAN.layout.evidence_file("{experiment}", "{seed}", "{kind}"),
    wildcard_constraints:
        experiment="[^/]+",
        kind="[a-z0-9_-]+",
        seed=r"\d+",
    log:
        f"logs/{SCALE}/evidence/{{experiment}}_{{kind}}_seed{{seed}}.log",
    conda:
        ENV
    shell:
        "{O2F} evidence --experiment {wildcards.experiment} --seed {wildcards.seed} --kind {wildcards.kind} "
        "--scale {SCALE} --dag-settings {DAG_SETTINGS:q} > {log} 2>&1"
