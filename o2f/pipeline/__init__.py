"""The reproduction pipeline: the experiment plan from configs/tables.yaml, configs at a scale, training
jobs with MLflow tracking, the o2f command line and the reports. It uses the mmdet plugin (the rest of
``o2f``); the plugin never imports it."""
