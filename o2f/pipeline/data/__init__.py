"""Data the DAG prepares (built-in datasets, CrowdHuman layout conversion) and the checks every
dataset passes before training."""
