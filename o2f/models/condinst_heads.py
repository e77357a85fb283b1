"""CondInst box heads for Table 9: one-to-many (FCOS's), POTO and one-to-few, each with both NMS variants.

The one-to-few and POTO heads are the detection heads of this project plus CondInst's controller
(the dynamic mask-head parameters); the anchors their assigner makes positive (certain and
ambiguous ones alike, as in the authors' ``E2ECondInstHead``) are what the mask head trains on.
For instance masks, Eq. 1's centre region is centred on each mask's centre of mass.
"""

from __future__ import annotations

import copy

import torch
from mmdet.models.dense_heads import CondInstBboxHead
from mmdet.models.utils import multi_apply
from mmdet.registry import MODELS
from mmengine.structures import InstanceData
from torch import Tensor

from .dual_postprocess import DualPostProcessMixin
from .fp32_loss import FP32LossMixin
from .matching import mask_centroids
from .o2f_head import O2FHead, POTOHead


def mask_centred(gt: InstanceData) -> InstanceData:
    """The objects as the assigner sees them: boxes, labels and ``centres`` at the masks' centres of mass."""
    if "masks" not in gt or len(gt) == 0:
        return gt
    masks = gt.masks.to_tensor(dtype=torch.bool, device=gt.bboxes.device)
    return InstanceData(bboxes=gt.bboxes, labels=gt.labels, centres=mask_centroids(masks, gt.bboxes))


def keep_top_anchors(cls_score: Tensor, objectness: Tensor | None, nms_pre: int) -> Tensor:
    """Class logits (B, C, H, W) with every anchor outside the ``nms_pre`` of highest max-over-classes
    joint score (sigmoid(cls) x sigmoid(objectness (B, 1, H, W))) set to -inf, so no threshold keeps it."""
    joint = cls_score.sigmoid() if objectness is None else cls_score.sigmoid() * objectness.sigmoid()
    joint = joint.amax(1).flatten(1)  # (B, H*W)
    if joint.size(1) <= nms_pre:
        return cls_score
    keep = torch.zeros_like(joint, dtype=torch.bool).scatter_(1, joint.topk(nms_pre, dim=1).indices, True)
    return cls_score.masked_fill(~keep.view(cls_score.size(0), 1, *cls_score.shape[-2:]), float("-inf"))


class CondInstAssignmentMixin:
    """Mix in before :class:`O2FHead` (or a subclass) with ``CondInstBboxHead`` after it.

    Adds the controller's parameters to the outputs, centres the assignment on the masks and keeps
    the assigned positives for ``CondInstBboxHead.get_positive_infos``, which the mask head reads.
    """

    def forward(self, x: tuple[Tensor, ...]):
        """Class logits, boxes (pixels), objectness logits and controller parameters per level."""
        cls_scores, bbox_preds, reg_feats = multi_apply(self.forward_towers, x, self.scales, self.strides)
        return cls_scores, bbox_preds, self.forward_objectness(reg_feats), [self.controller(f) for f in reg_feats]

    def predict_by_feat(self, cls_scores, bbox_preds, score_factors=None, param_preds=None, cfg=None, **kwargs):
        """As the authors' CondInst head: per level the ``nms_pre`` anchors of highest max joint score, of
        those the (anchor, class) pairs whose class score alone passes ``score_thr``, scored by the joint
        score (mmdet's score factor); CondInstBboxHead keeps their parameters and points."""
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        nms_pre = cfg.get("nms_pre", -1)
        if nms_pre > 0:
            cls_scores = [keep_top_anchors(c, o, nms_pre) for c, o in zip(cls_scores, score_factors, strict=True)]
            cfg.nms_pre = max(c[0].numel() for c in cls_scores)  # the choice is made: mmdet's top-k keeps all
        factors = score_factors if self.with_objectness else None
        return super(O2FHead, self).predict_by_feat(cls_scores, bbox_preds, factors, param_preds=param_preds,
                                                    cfg=cfg, **kwargs)

    def loss_by_feat(self, cls_scores, bbox_preds, objectnesses, param_preds, batch_gt_instances, batch_img_metas,
                     batch_gt_instances_ignore=None) -> dict[str, Tensor]:
        gts = [mask_centred(gt) for gt in batch_gt_instances]
        losses, (labels, owners) = self.dense_losses(cls_scores, bbox_preds, objectnesses, gts)
        priors = self.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores], dtype=bbox_preds[0].dtype,
                                                  device=bbox_preds[0].device, with_stride=True)
        positives = [label >= 0 for label in labels]
        self._raw_positive_infos.update(
            cls_scores=cls_scores, centernesses=objectnesses, param_preds=param_preds,
            all_level_points=[p[:, :2] for p in priors], all_level_strides=[p[:, 2] for p in priors],
            pos_inds_list=[p.nonzero(as_tuple=True)[0] for p in positives],
            pos_gt_inds_list=[owner[p] for owner, p in zip(owners, positives, strict=True)])
        return losses


@MODELS.register_module()
class O2FCondInstBboxHead(CondInstAssignmentMixin, O2FHead, CondInstBboxHead):
    """One-to-few CondInst: certain and ambiguous anchors all predict masks (authors' code)."""


@MODELS.register_module()
class POTOCondInstBboxHead(CondInstAssignmentMixin, POTOHead, CondInstBboxHead):
    """POTO CondInst: the one Hungarian-matched anchor per object predicts its mask."""


@MODELS.register_module()
class DualNMSCondInstBboxHead(FP32LossMixin, DualPostProcessMixin, CondInstBboxHead):
    """mmdet's CondInst box head (FCOS, one-to-many; its centre sampling already follows the mask
    centroid), unchanged in training; its predictions carry both NMS variants."""
