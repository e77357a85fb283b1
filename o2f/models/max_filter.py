"""3D Max Filtering (DeFCN, POTO+3DMF in Table 5): a max over (level, y, x) before objectness."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class MaxFilter3D(nn.Module):
    """Per level: 3x3 conv; the neighbouring levels resized (bilinear) to this level and stacked;
    MaxPool3d over (level, y, x) with kernel (3, 3, 3) and padding 1; added to the input; GN + ReLU.
    """

    def __init__(self, channels: int, levels: int = 3, kernel: int = 3, norm_groups: int = 32) -> None:
        super().__init__()
        self.levels = levels
        self.conv = ConvModule(channels, channels, 3, padding=1, bias=True, act_cfg=None)
        self.max3d = nn.MaxPool3d((levels, kernel, kernel), stride=1, padding=(levels // 2, kernel // 2, kernel // 2))
        self.norm = nn.GroupNorm(norm_groups, channels)

    def forward(self, inputs: list[Tensor]) -> list[Tensor]:
        feats = [self.conv(x) for x in inputs]
        half = self.levels // 2
        outputs = []
        for level, feat in enumerate(feats):
            neighbours = range(max(0, level - half), min(len(feats), level + half + 1))
            stack = torch.stack([feats[k] if k == level else
                                 F.interpolate(feats[k], size=feat.shape[-2:], mode="bilinear", align_corners=False)
                                 for k in neighbours], dim=2)
            pooled = self.max3d(stack)[:, :, min(level, half)]
            outputs.append(F.relu(self.norm(pooled + inputs[level])))
        return outputs
