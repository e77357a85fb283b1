# Built-in datasets; at full scale the data are the user's and checked before the DAG starts.


rule demo_trees:
    output:
        train="data/demo_trees/annotations/train.json",
        val="data/demo_trees/annotations/val.json",
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
        train="data/synthetic_shapes/annotations/train.json",
        val="data/synthetic_shapes/annotations/val.json",
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
        train="data/synthetic_shapes_demo/annotations/train.json",
        val="data/synthetic_shapes_demo/annotations/val.json",
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
        train="data/{source}/annotations/train.json",
        val="data/{source}/annotations/val.json",
    output:
        train="data/{source}_odgt/annotation_train.odgt",
        val="data/{source}_odgt/annotation_val.odgt",
    params:
        o2f=O2F,
    log:
        "logs/data/{source}_odgt.log",
    conda:
        ENV
    shell:
        "{params.o2f} prepare-data odgt --source data/{wildcards.source} --out data/{wildcards.source}_odgt > {log} 2>&1"
