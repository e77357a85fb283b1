"""Let torch's safe (weights_only) loader read mmengine checkpoints.

torch >= 2.6 loads with ``weights_only=True``. mmengine 0.10.7 stores message-hub history buffers in
its checkpoints, pickled with references to their statistics functions (``getattr`` globals), which
the safe loader rightly refuses. Instead of turning it off, we (1) pickle history buffers without
those function references (mmengine's ``__setstate__`` restores the defaults) and (2) allow exactly
the types such a checkpoint then holds, so resuming works and arbitrary pickles stay refused.
"""

from __future__ import annotations

import copyreg

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer


def reduce_history_buffer(buffer: HistoryBuffer):
    """Pickle a HistoryBuffer as its class plus plain state (arrays and ints, no functions)."""
    state = {key: value for key, value in vars(buffer).items() if key != "statistics_methods"}
    return HistoryBuffer, (), state


def mmengine_checkpoint_types() -> list:
    """The classes and reconstructors that appear in an mmengine training checkpoint."""
    numpy_core = getattr(np, "_core", None) or np.core
    dtype_classes = [type(np.dtype(name)) for name in
                     ("float16", "float32", "float64", "int32", "int64", "uint8", "bool")]
    return [HistoryBuffer, numpy_core.multiarray._reconstruct, numpy_core.multiarray.scalar,
            np.ndarray, np.dtype, *dtype_classes]


def allow_mmengine_checkpoints() -> None:
    """Register the pickling rule and the safe types (idempotent)."""
    copyreg.pickle(HistoryBuffer, reduce_history_buffer)
    torch.serialization.add_safe_globals(mmengine_checkpoint_types())
