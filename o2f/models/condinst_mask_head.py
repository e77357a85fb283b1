"""CondInst's mask head with the auxiliary semantic-segmentation loss of the authors' ``E2ECondInstHead``.

Their one-to-few CondInst always trains a per-class semantic map on P3 (focal loss against each pixel's
smallest covering instance); it only shapes the shared features and is dropped at inference.
With ``with_semantic=False`` this is mmdet's ``CondInstMaskHead`` (the one-to-many row) unchanged.
"""

from __future__ import annotations

import torch
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import CondInstMaskHead
from mmdet.registry import MODELS
from mmengine.model import bias_init_with_prob, normal_init
from torch import Tensor, nn


def semantic_targets(masks: Tensor, labels: Tensor, num_classes: int, stride: int) -> Tensor:
    """(H / stride, W / stride) class of the smallest instance covering each sampled pixel (the pixel
    at stride // 2 of each cell), ``num_classes`` (background) where none does."""
    sampled = masks[:, stride // 2::stride, stride // 2::stride]
    background = torch.full(sampled.shape[1:], num_classes, dtype=torch.long, device=masks.device)
    if len(masks) == 0:
        return background
    areas = masks.sum((-2, -1), dtype=torch.float32)
    smallest, owner = torch.where(sampled, areas[:, None, None], torch.inf).min(0)
    return torch.where(smallest.isinf(), background, labels[owner])


@MODELS.register_module()
class SemanticCondInstMaskHead(CondInstMaskHead):
    """``CondInstMaskHead`` plus, if ``with_semantic``, ``loss_semantic`` in training on a 2-conv branch
    over the first FPN level (stride ``semantic_stride``); ``num_classes`` as in the box head."""

    def __init__(self, *args, num_classes: int = 80, with_semantic: bool = True, semantic_channels: int = 128,
                 semantic_stride: int = 8, loss_semantic: dict | None = None, **kwargs) -> None:
        self.num_classes = num_classes
        self.with_semantic = with_semantic
        self.semantic_channels = semantic_channels
        self.semantic_stride = semantic_stride
        super().__init__(*args, **kwargs)
        if with_semantic:
            self.loss_semantic = MODELS.build(loss_semantic or dict(type="FocalLoss", use_sigmoid=True, gamma=2.0,
                                                                     alpha=0.25, loss_weight=1.0))

    def _init_layers(self) -> None:
        super()._init_layers()
        if not self.with_semantic:
            return
        in_channels = self.mask_feature_head.in_channels
        self.semantic_convs = nn.Sequential(*(
            ConvModule(c, self.semantic_channels, 3, padding=1, bias=False, norm_cfg=dict(type="BN"))
            for c in (in_channels, self.semantic_channels)))
        self.semantic_logits = nn.Conv2d(self.semantic_channels, self.num_classes, 1)

    def init_weights(self) -> None:
        super().init_weights()
        if self.with_semantic:
            normal_init(self.semantic_logits, std=0.01, bias=bias_init_with_prob(0.01))

    def forward(self, x: tuple, positive_infos) -> tuple:
        """Masks of the positives and, in training only, the semantic logits of the first level."""
        mask_preds = super().forward(x, positive_infos)
        semantic = self.semantic_logits(self.semantic_convs(x[0])) if self.training and self.with_semantic else None
        return (*mask_preds, semantic)

    def loss_by_feat(self, mask_preds, semantic: Tensor, batch_gt_instances, batch_img_metas, positive_infos,
                     **kwargs) -> dict:
        losses = super().loss_by_feat(mask_preds, batch_gt_instances, batch_img_metas, positive_infos, **kwargs)
        if semantic is None:
            return losses
        targets = torch.stack([
            semantic_targets(gt.masks.to_tensor(dtype=torch.bool, device=semantic.device), gt.labels,
                             self.num_classes, self.semantic_stride) for gt in batch_gt_instances])
        targets = targets[:, :semantic.size(2), :semantic.size(3)]
        foreground = (targets < self.num_classes).sum().float().clamp(min=1.0)
        logits = semantic.permute(0, 2, 3, 1).reshape(-1, self.num_classes)
        losses["loss_semantic"] = self.loss_semantic(logits, targets.reshape(-1), avg_factor=foreground)
        return losses

    def predict_by_feat(self, mask_preds, semantic=None, **kwargs):
        return super().predict_by_feat(mask_preds, **kwargs)
