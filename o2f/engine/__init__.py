"""Runtime pieces: checkpoint loading under torch's safe loader, hooks."""

from .checkpoint_safety import allow_mmengine_checkpoints
from .hooks import FINAL_METRICS, EpochMetricsHook, EpochToHeadHook, read_epoch_metrics

__all__ = ["FINAL_METRICS", "allow_mmengine_checkpoints", "EpochMetricsHook", "EpochToHeadHook",
           "read_epoch_metrics"]
