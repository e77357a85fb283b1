"""The one-to-few head (section 3.4): FCOS with a deeper objectness branch, trained with o2f labels."""

from __future__ import annotations

import torch
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.utils import multi_apply
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.utils import reduce_mean
from mmengine.structures import InstanceData
from torch import Tensor, nn

from .dual_postprocess import DualPostProcessMixin
from .fp32_loss import FP32LossMixin
from .loss_schedule import linear_weight
from .matching import box_loss_weights
from .soft_labels import dynamic_soft_labels, temperature

SOFT_LABEL_MODES = ("dynamic", "static", "hard")


@MODELS.register_module()
class O2FHead(FP32LossMixin, DualPostProcessMixin, FCOSHead):
    """FCOS head whose objectness branch has ``num_obj_convs`` extra 3x3 convs of ``obj_channels``
    (GN + ReLU) on the regression features; joint score = sigmoid(cls) * sigmoid(objectness).

    Args:
        with_objectness: False drops the objectness branch: the joint score is sigmoid(cls) alone, in
            matching, loss and inference (DeFCN's plain POTO); the objectness outputs are then None.
        soft_label: ``mode`` "dynamic" (Eq. 3, T from ``t_max`` to ``t_min`` over the epochs),
            "static" (t = ``value``, Table 1) or "hard" (t = 1: one-to-two when topk=2).
        ambiguous_weight: loss weight of the ambiguous anchors' BCE (0.4 in the authors' code, 1 in
            the paper's Eq. 4).
        bbox_weighting: "centerness" (authors' code: each GIoU term weighted by the FCOS centerness
            target) or "uniform" (the paper's Eq. 5).
    The assigner comes from ``train_cfg.assigner``; the epoch from :class:`o2f.engine.EpochToHeadHook`.
    """

    def __init__(self, *args, with_objectness: bool = True, num_obj_convs: int = 3, obj_channels: int = 64,
                 obj_norm_groups: int = 32, objectness_module: dict | None = None, soft_label: dict | None = None,
                 ambiguous_weight: float = 0.4, bbox_weighting: str = "centerness",
                 loss_cls: dict | None = None, loss_bbox: dict | None = None, loss_aux: dict | None = None,
                 **kwargs) -> None:
        if not with_objectness and (num_obj_convs or objectness_module):
            raise ValueError("with_objectness=False takes neither num_obj_convs nor objectness_module")
        self.with_objectness = with_objectness
        self.num_obj_convs = num_obj_convs
        self.obj_channels = obj_channels
        self.obj_norm_groups = obj_norm_groups
        self.objectness_module_cfg = objectness_module
        self.soft_label = {**dict(mode="dynamic", t_max=0.6, t_min=0.2, value=None), **(soft_label or {})}
        if self.soft_label["mode"] not in SOFT_LABEL_MODES:
            raise ValueError(f"soft_label.mode must be one of {SOFT_LABEL_MODES}")
        if bbox_weighting not in ("centerness", "uniform"):
            raise ValueError("bbox_weighting must be 'centerness' or 'uniform'")
        self.ambiguous_weight = ambiguous_weight
        self.bbox_weighting = bbox_weighting
        kwargs.setdefault("norm_on_bbox", True)
        kwargs.setdefault("centerness_on_reg", True)
        super().__init__(*args, loss_cls=loss_cls or dict(type="SoftLabelFocalLoss", use_sigmoid=True),
                         loss_bbox=loss_bbox or dict(type="GIoULoss", loss_weight=2.0), **kwargs)
        train_cfg = self.train_cfg or {}
        self.assigner = TASK_UTILS.build(train_cfg["assigner"]) if "assigner" in train_cfg else None
        # Hybrid-Epoch: another (one-to-many) assigner before ``switch_epoch`` (0-based).
        self.early_assigner = TASK_UTILS.build(train_cfg["early_assigner"]) if "early_assigner" in train_cfg else None
        self.switch_epoch = train_cfg.get("switch_epoch", 0)
        # POTO's auxiliary one-to-many loss on sigmoid(cls) alone.
        self.aux_assigner = TASK_UTILS.build(train_cfg["aux_assigner"]) if "aux_assigner" in train_cfg else None
        self.loss_aux = MODELS.build(loss_aux) if loss_aux else None
        for assigner in (self.assigner, self.early_assigner, self.aux_assigner):
            if hasattr(assigner, "bind_levels"):
                assigner.bind_levels(self.strides, self.regress_ranges)
        # ProgLoss: the auxiliary and one-to-one loss weights follow a per-iteration schedule (loss_schedule.py).
        self.progressive_loss = train_cfg.get("progressive_loss")
        if self.progressive_loss and (self.aux_assigner is None or set(self.progressive_loss) != {"aux", "one_to_one"}):
            raise ValueError("progressive_loss needs an aux_assigner and (start, end) weights for aux and one_to_one")
        self.epoch, self.max_epochs, self.progress = 0, 1, 0.0

    def _init_layers(self) -> None:
        super()._init_layers()
        channels = [self.feat_channels] + [self.obj_channels] * self.num_obj_convs
        norm_type = self.group_norm_type()
        self.obj_convs = nn.ModuleList(
            ConvModule(c_in, c_out, 3, padding=1, bias=True,
                       norm_cfg=dict(type=norm_type, num_groups=self.obj_norm_groups, requires_grad=True))
            for c_in, c_out in zip(channels[:-1], channels[1:], strict=True))
        self.objectness_module = (MODELS.build(dict(channels=channels[-1], norm_type=norm_type,
                                                    **self.objectness_module_cfg))
                                  if self.objectness_module_cfg else None)
        # The objectness output takes the place of FCOS's centerness branch, in its position among the
        # layers too: parameter order is what an optimizer's saved state is matched by on resume.
        objectness = nn.Conv2d(channels[-1], 1, 3, padding=1) if self.with_objectness else None
        layers = [("conv_objectness", objectness) if name == "conv_centerness" else (name, module)
                  for name, module in self._modules.items()]
        self._modules.clear()
        self._modules.update(layers)

    def group_norm_type(self) -> str:
        """The objectness branch's group norm: the towers' own when it is a group norm (``ChannelsLastGN``
        at the demo scale, o2f/models/channels_last.py), else mmcv's ``GN``."""
        norm_type = (self.norm_cfg or {}).get("type", "GN")
        norm = MODELS.get(norm_type)
        return norm_type if isinstance(norm, type) and issubclass(norm, nn.GroupNorm) else "GN"

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Checkpoints written before the objectness output had its own name hold it as
        ``conv_centerness``: resuming or loading one keeps its objectness weights (the layer kept its
        place, so the optimizer's state lines up too)."""
        for name in ("weight", "bias"):
            old, new = f"{prefix}conv_centerness.{name}", f"{prefix}conv_objectness.{name}"
            if old in state_dict and new not in state_dict and self.conv_objectness is not None:
                state_dict[new] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def set_epoch(self, epoch: int, max_epochs: int) -> None:
        self.epoch, self.max_epochs = epoch, max_epochs

    def set_progress(self, progress: float) -> None:
        """The training's progress, its iteration over all of them (ProgLoss's per-iteration weights)."""
        self.progress = progress

    @property
    def temperature(self) -> float:
        return temperature(self.epoch, self.max_epochs, self.soft_label["t_max"], self.soft_label["t_min"])

    def forward(self, x: tuple[Tensor, ...]) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """Class scores, boxes (pixels) and objectness per level; the objectness branch may mix
        levels (3D max filtering), so it runs after the per-level towers."""
        cls_scores, bbox_preds, reg_feats = multi_apply(self.forward_towers, x, self.scales, self.strides)
        return cls_scores, bbox_preds, self.forward_objectness(reg_feats)

    def forward_objectness(self, feats: list[Tensor]) -> list[Tensor | None]:
        """Objectness logits per level from the regression towers' features (None without the branch)."""
        if not self.with_objectness:
            return [None] * len(feats)
        for conv in self.obj_convs:
            feats = [conv(f) for f in feats]
        if self.objectness_module is not None:
            feats = self.objectness_module(feats)
        return [self.conv_objectness(f) for f in feats]

    def forward_towers(self, x: Tensor, scale, stride: int) -> tuple[Tensor, Tensor, Tensor]:
        cls_score, bbox_pred, _, reg_feat = super(FCOSHead, self).forward_single(x)
        bbox_pred = scale(bbox_pred).float().clamp(min=0) * stride  # pixels, in training too
        return cls_score, bbox_pred, reg_feat

    def predict_by_feat(self, cls_scores, bbox_preds, score_factors=None, **kwargs):
        """Rank, threshold and keep by the joint score: pass its logit as the class score."""
        if self.with_objectness:
            cls_scores = [torch.logit(c.sigmoid() * o.sigmoid(), eps=1e-6)
                          for c, o in zip(cls_scores, score_factors, strict=True)]
        return super().predict_by_feat(cls_scores, bbox_preds, score_factors=None, **kwargs)

    def joint_scores(self, cls: Tensor, obj: Tensor | None) -> Tensor:
        """The score every assigner, loss and prediction uses: sigmoid(cls) * sigmoid(objectness)."""
        return cls.sigmoid() if obj is None else cls.sigmoid() * obj.sigmoid()[..., None]

    def flatten(self, cls_scores, bbox_preds, objectnesses):
        """(B, A, C) class logits, (B, A) objectness logits (None without the branch), (B, A, 4) boxes,
        (A, 4) priors (x, y, stride, stride)."""
        num_imgs = cls_scores[0].size(0)
        priors = torch.cat(self.prior_generator.grid_priors(
            [c.shape[-2:] for c in cls_scores], dtype=bbox_preds[0].dtype, device=bbox_preds[0].device,
            with_stride=True))
        cls = torch.cat([c.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels) for c in cls_scores], 1)
        obj = (torch.cat([o.permute(0, 2, 3, 1).reshape(num_imgs, -1) for o in objectnesses], 1)
               if self.with_objectness else None)
        dist = torch.cat([b.permute(0, 2, 3, 1).reshape(num_imgs, -1, 4) for b in bbox_preds], 1)
        boxes = self.bbox_coder.decode(priors[None, :, :2].expand(num_imgs, -1, -1), dist)
        return cls, obj, boxes, priors

    def ambiguous_labels(self, p: Tensor, owner: Tensor, num_objects: int) -> Tensor:
        mode = self.soft_label["mode"]
        if mode == "dynamic":
            return dynamic_soft_labels(p, owner, num_objects, self.temperature)
        return torch.full_like(p, 1.0 if mode == "hard" else float(self.soft_label["value"]))

    def current_assigner(self):
        if self.early_assigner is not None and self.epoch < self.switch_epoch:
            return self.early_assigner
        return self.assigner

    @torch.no_grad()
    def get_targets_single(self, priors: Tensor, joint: Tensor, boxes: Tensor, gt: InstanceData, assigner=None):
        """Per anchor: class (-1 negative), soft target, loss weight, object box."""
        labels, targets, weights, owner = self.assign_single(priors, joint, boxes, gt, assigner)
        gt_boxes = gt.bboxes[owner] if len(gt) else boxes.new_zeros(boxes.shape)
        return labels, targets, weights, gt_boxes

    @torch.no_grad()
    def assign_single(self, priors: Tensor, joint: Tensor, boxes: Tensor, gt: InstanceData, assigner=None):
        """Per anchor: class (-1 negative), soft target, loss weight, owner object index (0 where negative)."""
        assigner = assigner or self.current_assigner()
        result = assigner.assign(InstanceData(priors=priors, scores=joint, bboxes=boxes), gt)
        positive = result.gt_inds > 0
        owner = (result.gt_inds - 1).clamp(min=0)
        certain = result.get_extra_property("certain")
        ambiguous = positive & ~certain
        labels = result.labels.long()
        targets = certain.to(joint.dtype)
        weights = certain.to(joint.dtype)
        amb_idx = ambiguous.nonzero(as_tuple=True)[0]
        targets[amb_idx] = self.ambiguous_labels(joint[amb_idx, labels[amb_idx]], owner[amb_idx], len(gt))
        weights[amb_idx] = self.ambiguous_weight
        return labels, targets, weights, owner

    def loss_by_feat(self, cls_scores, bbox_preds, objectnesses, batch_gt_instances, batch_img_metas,
                     batch_gt_instances_ignore=None) -> dict[str, Tensor]:
        return self.dense_losses(cls_scores, bbox_preds, objectnesses, batch_gt_instances)[0]

    def dense_losses(self, cls_scores, bbox_preds, objectnesses, batch_gt_instances
                     ) -> tuple[dict[str, Tensor], tuple[list[Tensor], list[Tensor]]]:
        """Eq. 4-5 losses, and per image the assignment a CondInst mask head trains on: each anchor's
        class (-1 negative) and owner object index."""
        cls, obj, boxes, priors = self.flatten(cls_scores, bbox_preds, objectnesses)
        joint = self.joint_scores(cls, obj)
        per_image = multi_apply(self.assign_single, [priors] * len(joint), joint.detach(), boxes.detach(),
                                batch_gt_instances)
        owners = per_image[3]
        gt_boxes = torch.cat([gt.bboxes[owner] if len(gt) else b.new_zeros(b.shape)
                              for gt, owner, b in zip(batch_gt_instances, owners, boxes, strict=True)])
        labels, targets, weights = (torch.cat(t) for t in per_image[:3])
        losses = {}
        if self.aux_assigner is not None:
            losses["loss_aux"] = self.auxiliary_loss(cls, boxes, priors, batch_gt_instances)
        joint, boxes = joint.flatten(0, 1), boxes.flatten(0, 1)
        positive = labels >= 0
        num_pos = reduce_mean(positive.sum().float()).clamp(min=1.0)
        loss_cls = self.loss_cls(joint, labels, targets, weights, avg_factor=num_pos)

        pos_points = priors[:, :2].repeat(len(cls_scores[0]), 1)[positive]
        box_weights = box_loss_weights(pos_points, gt_boxes[positive], self.bbox_weighting)
        box_avg_factor = reduce_mean(box_weights.sum()).clamp(min=1e-6)  # every rank joins the reduce
        if positive.any():
            loss_bbox = self.loss_bbox(boxes[positive], gt_boxes[positive], weight=box_weights,
                                       avg_factor=box_avg_factor)
        else:
            loss_bbox = boxes.sum() * 0
        losses = dict(loss_cls=loss_cls, loss_bbox=loss_bbox, **losses)
        if self.progressive_loss:
            weight = {name: linear_weight(*ends, self.progress) for name, ends in self.progressive_loss.items()}
            losses = {key: value * weight["aux" if key == "loss_aux" else "one_to_one"]
                      for key, value in losses.items()}
        return losses, (per_image[0], owners)

    def auxiliary_loss(self, cls: Tensor, boxes: Tensor, priors: Tensor, batch_gt_instances) -> Tensor:
        """POTO's auxiliary one-to-many focal loss on sigmoid(cls) alone (DeFCN, Table 5)."""
        scores = cls.sigmoid()
        labels = torch.cat([self.get_targets_single(priors, s, b, gt, self.aux_assigner)[0]
                            for s, b, gt in zip(scores.detach(), boxes.detach(), batch_gt_instances, strict=True)])
        num_pos = reduce_mean((labels >= 0).sum().float()).clamp(min=1.0)
        ones = torch.ones_like(labels, dtype=scores.dtype)
        return self.loss_aux(scores.flatten(0, 1), labels, ones, ones, avg_factor=num_pos)


@MODELS.register_module()
class POTOHead(O2FHead):
    """DeFCN's POTO head on the same code: one certain anchor per object (``POTOAssigner``), focal
    loss, plain GIoU. Plain POTO has no objectness branch (``with_objectness=False``, DeFCN's
    poto.res50.fpn.coco.800size.3x_ms): the class score alone is matched, trained and ranked. POTO+3DMF
    adds the objectness ("filter") branch with 3D max filtering, and the joint score; the auxiliary loss
    comes by config."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("with_objectness", False)
        kwargs.setdefault("num_obj_convs", 0)
        kwargs.setdefault("bbox_weighting", "uniform")
        kwargs.setdefault("loss_cls", dict(type="JointFocalLoss", use_sigmoid=True, neg_alpha=0.75, gamma=2.0))
        super().__init__(*args, **kwargs)
