# Built-in datasets (o2f.pipeline.layout.BUILTIN_DATA): the DAG writes them where a scale's data root
# names one; any other root is the user's, checked before the DAG starts. (Each rule keeps its shell
# command as it was: Snakemake reruns a job whose code changed, and every training after it.)
from o2f.pipeline.layout import COCO_FILES, ODGT_FILES


rule demo_trees:
    output:
        [f"data/demo_trees/{name}" for name in COCO_FILES],
    params:
        o2f=O2F,
    log:
        "logs/data/demo_trees.log",
    conda:
        ENV
    shell:
        "{params.o2f} prepare-data demo_trees --out data/demo_trees > {log} 2>&1"


rule synthetic_shapes:
    output:
        [f"data/synthetic_shapes/{name}" for name in COCO_FILES],
    params:
        o2f=O2F,
    log:
        "logs/data/synthetic_shapes.log",
    conda:
        ENV
    shell:
        "{params.o2f} prepare-data synthetic_shapes --out data/synthetic_shapes > {log} 2>&1"


rule synthetic_shapes_demo:
    """More synthetic shapes with instance masks: the CondInst configs' demo data (Table 9)."""
    output:
        [f"data/synthetic_shapes_demo/{name}" for name in COCO_FILES],
    params:
        o2f=O2F,
    log:
        "logs/data/synthetic_shapes_demo.log",
    conda:
        ENV
    shell:
        "{params.o2f} prepare-data synthetic_shapes_demo --out data/synthetic_shapes_demo > {log} 2>&1"


rule odgt_copy:
    """A built-in dataset in CrowdHuman's layout, for the CrowdHuman configs (Table 8)."""
    input:
        [f"data/{{source}}/{name}" for name in COCO_FILES],
    output:
        [f"data/{{source}}_odgt/{name}" for name in ODGT_FILES],
    params:
        o2f=O2F,
    log:
        "logs/data/{source}_odgt.log",
    conda:
        ENV
    shell:
        "{params.o2f} prepare-data odgt --source data/{wildcards.source} --out data/{wildcards.source}_odgt > {log} 2>&1"
