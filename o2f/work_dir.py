"""The result files of a training's work dir: the plugin's hooks write them, the pipeline and its
reports read them. Plain names, no imports, so reading a report needs neither torch nor mmcv. (The
bookkeeping files, the lock, seed and MLflow run id, belong to the modules that keep them.)"""

EPOCH_METRICS = "epoch_metrics.jsonl"  # one line per validation (EpochMetricsHook)
EPOCH_LOSSES = "epoch_losses.jsonl"  # each training epoch's mean losses (EpochMetricsHook), for the failed-run rule
DETECTIONS = "detections"  # each validation's detections with and without NMS, as mmdet's metrics write them
FINAL_METRICS = "final_metrics.json"  # every epoch's metrics, written when training finished
SCORE_MAPS = "score_maps"  # Figure 6's maps after the first and the last epoch (ScoreMapHook)
SPEED = "speed.json"  # Table 5's speed of an experiment (`o2f speed`), one per experiment, not per seed
