"""CondInst box heads for Table 9: one-to-many (FCOS's), POTO and one-to-few, each with both NMS variants.

The one-to-few and POTO heads are the detection heads of this project plus CondInst's controller
(the dynamic mask-head parameters); the anchors their assigner makes positive (certain and
ambiguous ones alike, as in the authors' ``E2ECondInstHead``) are what the mask head trains on.
For instance masks, Eq. 1's centre region is centred on each mask's centre of mass.
"""

from __future__ import annotations

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


class CondInstAssignmentMixin:
    """Mix in before :class:`O2FHead` (or a subclass) with ``CondInstBboxHead`` after it.

    Adds the controller's parameters to the outputs, centres the assignment on the masks and keeps
    the assigned positives for ``CondInstBboxHead.get_positive_infos``, which the mask head reads.
    """

    def forward(self, x: tuple[Tensor, ...]):
        """Class logits, boxes (pixels), objectness logits and controller parameters per level."""
        cls_scores, bbox_preds, reg_feats = multi_apply(self.forward_towers, x, self.scales, self.strides)
        return cls_scores, bbox_preds, self.forward_objectness(reg_feats), [self.controller(f) for f in reg_feats]

    def predict_by_feat(self, cls_scores, bbox_preds, score_factors=None, param_preds=None, **kwargs):
        """The joint score ranks candidates (O2FHead); CondInstBboxHead keeps their parameters and points."""
        return super().predict_by_feat(cls_scores, bbox_preds, score_factors, param_preds=param_preds, **kwargs)

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
