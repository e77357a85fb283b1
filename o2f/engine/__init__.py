"""Runtime pieces: checkpoint loading under torch's safe loader, hooks, exact resume, the MLflow backend."""

from .checkpoint_safety import allow_mmengine_checkpoints
from .graceful_stop import GracefulStopHook
from .hooks import EpochMetricsHook, EpochToHeadHook, read_epoch_metrics
from .mixed_precision import BF16OptimWrapper
from .prefetch import PrefetchingEpochBasedTrainLoop, prefetched
from .resume import ExactResumeHook, latest_checkpoint

__all__ = ["BF16OptimWrapper", "allow_mmengine_checkpoints", "EpochMetricsHook", "EpochToHeadHook",
           "ExactResumeHook", "GracefulStopHook", "PrefetchingEpochBasedTrainLoop", "latest_checkpoint", "prefetched",
           "read_epoch_metrics"]
