# Built-in datasets (o2f.pipeline.layout.BUILTIN_DATA): the DAG writes them where a scale's data root
# names one; any other root is the user's, checked before the DAG starts.
from o2f.pipeline.layout import COCO_FILES, ODGT_FILES, PREPARED


rule builtin_data:
    """Tree crowns (the pinned deepforest wheel), synthetic shapes, synthetic shapes with masks."""
    output:
        [f"data/{{name}}/{name}" for name in COCO_FILES],
    params:
        o2f=O2F,
    wildcard_constraints:
        name="|".join(PREPARED),
    log:
        "logs/data/{name}.log",
    conda:
        ENV
    shell:
        "{params.o2f} prepare-data {wildcards.name} --out data/{wildcards.name} > {log} 2>&1"


rule odgt_copy:
    """A built-in dataset in CrowdHuman's layout, for the CrowdHuman configs (Table 8)."""
    input:
        [f"data/{{source}}/{name}" for name in COCO_FILES],
    output:
        [f"data/{{source}}_odgt/{name}" for name in ODGT_FILES],
    params:
        o2f=O2F,
    wildcard_constraints:
        source="|".join(PREPARED),
    log:
        "logs/data/{source}_odgt.log",
    conda:
        ENV
    shell:
        "{params.o2f} prepare-data odgt --source data/{wildcards.source} --out data/{wildcards.source}_odgt > {log} 2>&1"
