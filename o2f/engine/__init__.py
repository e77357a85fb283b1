"""Runtime pieces: checkpoint loading under torch's safe loader, hooks."""

from .checkpoint_safety import allow_mmengine_checkpoints
from .hooks import EpochToHeadHook

__all__ = ["allow_mmengine_checkpoints", "EpochToHeadHook"]
