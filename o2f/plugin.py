"""What mmengine configs import (``custom_imports``) to register every o2f component."""

from . import assigners, evaluation, models  # noqa: F401  (registration side effects)
from .datasets import image_cache, transforms  # noqa: F401
from .engine import allow_mmengine_checkpoints, hooks  # noqa: F401

allow_mmengine_checkpoints()
