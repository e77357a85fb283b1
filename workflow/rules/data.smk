# Built-in datasets, one rule each from one table (o2f.pipeline.layout.BUILTIN_DATASETS): the DAG writes them
# where a scale's data root names one; any other root is the user's, checked before the DAG starts.
from o2f.pipeline.layout import BUILTIN_DATASETS, DATA_DIR


for _name, _dataset in BUILTIN_DATASETS.items():

    rule:
        name:
            f"data_{_name}"
        input:
            _dataset.inputs(),
        output:
            [f"{DATA_DIR}/{_name}/{file}" for file in _dataset.files],
        params:
            dataset=_name,  # a shell command reads the loop's variable when the job runs: its last value
        log:
            f"logs/data/{_name}.log",
        conda:
            ENV
        shell:
            "{O2F} prepare-data {params.dataset} --out {DATA_DIR}/{params.dataset} > {log} 2>&1"
