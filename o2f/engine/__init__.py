"""Runtime pieces: checkpoint loading under torch's safe loader, hooks."""

from .checkpoint_safety import allow_mmengine_checkpoints
from .hooks import FINAL_METRICS, EpochMetricsHook, EpochToHeadHook, read_epoch_metrics
from .mixed_precision import BF16OptimWrapper

__all__ = ["FINAL_METRICS", "BF16OptimWrapper", "allow_mmengine_checkpoints", "EpochMetricsHook",
           "EpochToHeadHook", "read_epoch_metrics"]
