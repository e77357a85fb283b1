"""3D Max Filtering (DeFCN, POTO+3DMF in Table 5): a max over (level, y, x) before objectness."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_norm_layer
from mmdet.registry import MODELS
from torch import Tensor, nn

from .channels_last import is_channels_last


def layout(x: Tensor) -> torch.memory_format:
    """Channels-last for a channels-last map (the demo scale's head), else NCHW."""
    return torch.channels_last if is_channels_last(x) else torch.contiguous_format


@MODELS.register_module()
class MaxFilter3D(nn.Module):
    """Per level: 3x3 conv; the neighbouring levels resized (bilinear) to this level and stacked;
    a max over (level, y, x) with kernel (levels, kernel, kernel), padding 1 in y and x; added to the
    input; GN + ReLU.

    DeFCN pools the whole stack, padded in the level axis too, and keeps this level's slice. With an
    odd ``levels`` that slice's window spans the whole stack, so :meth:`pool` computes only that one
    output; in channels-last memory PyTorch scans each window in the same order, so values and
    gradients are equal, ties included, at a fifth of the cost on a CPU.
    """

    def __init__(self, channels: int, levels: int = 3, kernel: int = 3, norm_groups: int = 32,
                 norm_type: str = "GN") -> None:
        super().__init__()
        if levels % 2 == 0:
            raise ValueError(f"MaxFilter3D: levels must be odd (a window centred on each level), got {levels}")
        self.levels, self.kernel = levels, kernel
        self.conv = ConvModule(channels, channels, 3, padding=1, bias=True, act_cfg=None)
        self.norm = build_norm_layer(dict(type=norm_type, num_groups=norm_groups), channels)[1]

    def forward(self, inputs: list[Tensor]) -> list[Tensor]:
        feats = [self.conv(x) for x in inputs]
        half = self.levels // 2
        outputs = []
        for level, feat in enumerate(feats):
            neighbours = range(max(0, level - half), min(len(feats), level + half + 1))
            stack = torch.stack([feats[k] if k == level else
                                 F.interpolate(feats[k], size=feat.shape[-2:], mode="bilinear", align_corners=False)
                                 for k in neighbours], dim=2)
            pooled = self.pool(stack, index=min(level, half)).contiguous(memory_format=layout(inputs[level]))
            outputs.append(F.relu(self.norm(pooled + inputs[level])))
        return outputs

    def pool(self, stack: Tensor, index: int) -> Tensor:
        """The max over (level, y, x) around each location of the stack's level ``index``."""
        window = (stack.shape[2], self.kernel, self.kernel)
        pooled = F.max_pool3d(stack.contiguous(memory_format=torch.channels_last_3d), window, stride=1,
                              padding=(0, self.kernel // 2, self.kernel // 2))
        return pooled[:, :, 0]


@MODELS.register_module()
class WholeStackMaxFilter3D(MaxFilter3D):
    """DeFCN's pooling as written: every level of the stack pooled in NCDHW (padded in the level axis
    too), this level's slice kept. Equal to :class:`MaxFilter3D`'s, at five times the cost on a CPU; the
    reference its tests compare against and the recipe ``benchmarks/train_step.py --compare`` times as it was.
    """

    def pool(self, stack: Tensor, index: int) -> Tensor:
        half = self.levels // 2
        return F.max_pool3d(stack, (self.levels, self.kernel, self.kernel), stride=1,
                            padding=(half, self.kernel // 2, self.kernel // 2))[:, :, index]
