"""mmdet's ResNet run in channels-last memory format, and a group norm for channels-last maps.

On a CPU, PyTorch's max-pool over a contiguous NCHW map is an order of magnitude slower than over
the same map in channels-last (the demo stem's (8, 32, 128, 128) map: 85 vs 6 ms), and oneDNN's
convolutions and batch norms run channels-last natively (oneDNN's bf16 convolutions reorder NCHW maps
to channels-last and back on every call). Group norm is the exception: torch's over a channels-last
bf16 map is 3-14x slower than over NCHW below 32 x 32 (its backward ~13x at 32 x 32), so a group-normed
neck and head run channels-last (``channels_last_outputs``, the demo scale) only with
:class:`ChannelsLastGroupNorm`. Same arguments, same outputs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import Tensor, nn

from . import nhwc_group_norm


@MODELS.register_module()
class ChannelsLastResNet(ResNet):
    """``ResNet`` computing in channels-last; returns contiguous (NCHW) feature maps, or, with
    ``channels_last_outputs`` on a CPU, the channels-last maps themselves (same values), for a neck and
    head that run channels-last too."""

    def __init__(self, *args, channels_last_outputs: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channels_last_outputs = channels_last_outputs

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        outs = super().forward(x.contiguous(memory_format=torch.channels_last))
        if self.channels_last_outputs and x.device.type == "cpu":
            return tuple(outs)
        return tuple(out.contiguous() for out in outs)


def is_channels_last(x: Tensor) -> bool:
    """A 4D map stored channels-last and not also NCHW-contiguous (1x1 maps and one channel are both)."""
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


# in mmengine's root registry, beside mmcv's GN: mmcv's build_norm_layer looks norms up there
@MMENGINE_MODELS.register_module("ChannelsLastGN")
class ChannelsLastGroupNorm(nn.GroupNorm):
    """``nn.GroupNorm`` (mmcv's ``GN``: same parameters, state-dict keys and values) that normalises a
    channels-last CPU map with o2f/models/nhwc_group_norm.py's kernel, forward and backward as fast as
    torch's on NCHW; any other map, a GPU's, a traced or exported graph, or where the kernel cannot be
    built, takes torch's group norm. Built as mmcv builds any norm other than ``GN``:
    ``(num_channels, num_groups=...)``."""

    def __init__(self, num_channels: int, num_groups: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__(num_groups, num_channels, eps, affine)

    def forward(self, x: Tensor) -> Tensor:
        traced = torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()  # an exported graph has torch's op
        if not traced and is_channels_last(x) and nhwc_group_norm.supports(x, self.weight, self.bias):
            return nhwc_group_norm.NHWCGroupNorm.apply(x, self.weight, self.bias, self.num_groups, self.eps)
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
