"""bfloat16 mixed precision on any device, the CPU included.

mmengine's ``AmpOptimWrapper`` refuses to start without a GPU. bfloat16 has float32's range, so it
needs no loss scaling, and oneDNN runs bf16 convolutions natively on CPUs with avx512_bf16 or AMX:
the plain wrapper with an autocast context is all mixed precision takes there. Weights, gradients
and the optimiser stay in float32; heads compute assignment and losses in float32
(:class:`o2f.models.FP32LossMixin`).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper
from mmengine.runner.amp import autocast


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass runs under bfloat16 autocast on the model's device."""

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device = next(model.parameters()).device.type
        with super().optim_context(model), autocast(device_type=device, dtype=torch.bfloat16):
            yield
