"""What mmengine configs import (``custom_imports``) to register every o2f component."""

from .assigners import one_to_few, one_to_many, poto  # noqa: F401  (registration side effects)
from .datasets import image_cache, load_errors, transforms  # noqa: F401
from .engine import allow_mmengine_checkpoints, hooks  # noqa: F401
from .evaluation import dual_nms_metric  # noqa: F401
from .models import (  # noqa: F401
    channels_last,
    condinst_detector,
    condinst_heads,
    condinst_mask_head,
    fcos_head,
    losses,
    max_filter,
    o2f_head,
)

allow_mmengine_checkpoints()
