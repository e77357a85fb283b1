"""The whole detector as one module with fixed-shape outputs: what ``o2f export`` writes to ONNX.

Inputs: ``images`` (B, 3, H, W) float32 BGR pixels (0-255, as OpenCV reads them), resized keeping the
aspect ratio and padded at the bottom and right with the mean pixel, so that normalising makes the
padding 0 as in mmdet's data preprocessor; ``image_hw`` (B, 2) float32, each resized image's height
and width inside the input (boxes are clipped to it, as mmdet clips to ``img_shape``).
Outputs per image: ``boxes`` (B, K, 4) x1 y1 x2 y2 in input pixels, ``scores`` (B, K), ``labels``
(B, K) int64, K = ``max_per_img`` (100), best first; rows past the detections are padding, marked by
label -1, score 0 and a zero box.

The post-processing follows mmdet's ``predict_by_feat`` for these heads, in plain torch with static
shapes: per level the top ``nms_pre`` candidates (anchor, class) whose score exceeds ``score_thr``,
boxes decoded and clipped to the image, boxes no larger than ``min_bbox_size`` dropped, then either
the best K (one-to-few, POTO: score = joint score sigmoid(cls) x sigmoid(objectness)) or, for FCOS,
score x sigmoid(centerness), class-aware NMS (``o2f::nms_keep_mask``, ONNX NonMaxSuppression) and
the best K kept.
"""

from __future__ import annotations

import torch
from mmdet.models.dense_heads import FCOSHead
from torch import Tensor, nn

from ..errors import O2FError
from ..models.o2f_head import O2FHead
from .nms_op import nms_keep_mask

INPUT_NAMES = ("images", "image_hw")
OUTPUT_NAMES = ("boxes", "scores", "labels")


def uses_nms(head: nn.Module) -> bool:
    """FCOS (one-to-many) needs NMS; the one-to-few and POTO heads are end to end."""
    if isinstance(head, O2FHead):
        return False
    if isinstance(head, FCOSHead):
        return True
    raise O2FError(f"export supports the FCOS, one-to-few and POTO heads, not {type(head).__name__}")


class EndToEndDetector(nn.Module):
    """An mmdet single-stage detector (FCOS, one-to-few, POTO) with its pre-normalisation and
    post-processing, for fixed-size inputs."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector
        self.head = detector.bbox_head
        self.with_nms = uses_nms(self.head)
        cfg = self.head.test_cfg
        self.score_thr = float(cfg.get("score_thr", 0.0))
        self.nms_pre = int(cfg.get("nms_pre", -1))
        self.max_per_img = int(cfg.get("max_per_img", 100))
        # mmdet compares it in original-image pixels, here in input pixels: the same for 0, the configs' value
        self.min_bbox_size = float(cfg.get("min_bbox_size", -1))
        self.iou_threshold = float(cfg.nms.iou_threshold) if self.with_nms else None
        preprocessor = detector.data_preprocessor
        self.bgr_to_rgb = bool(getattr(preprocessor, "_channel_conversion", False))
        self.register_buffer("mean", preprocessor.mean.reshape(1, 3, 1, 1).float().clone(), persistent=False)
        self.register_buffer("std", preprocessor.std.reshape(1, 3, 1, 1).float().clone(), persistent=False)

    def pad_value_bgr(self) -> list[float]:
        """The raw pixel (B, G, R) that normalises to 0: what the input's padding must hold."""
        mean = self.mean.flatten().tolist()
        return mean[::-1] if self.bgr_to_rgb else mean

    def forward(self, images: Tensor, image_hw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        return self.select(self.network(images), image_hw)

    def network(self, images: Tensor) -> tuple[list[Tensor], ...]:
        """Normalisation, backbone, neck and head: the raw per-level outputs."""
        if self.bgr_to_rgb:
            images = images.flip(1)
        images = (images - self.mean) / self.std
        return self.head(self.detector.extract_feat(images))

    def select(self, outputs: tuple[list[Tensor], ...], image_hw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Candidates per level, then the NMS-free top K or NMS and the top K."""
        scores, boxes, labels = self.candidates(outputs, image_hw)
        if self.with_nms:
            return self.nms_top(scores, boxes, labels)
        return self.top(scores, boxes, labels)

    def candidates(self, outputs, image_hw: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Scores (B, N; -1 where not a candidate), boxes (B, N, 4) and labels (B, N) of each level's
        top ``nms_pre`` (anchor, class) pairs, levels concatenated."""
        cls_scores, bbox_preds, factors = outputs
        num_classes = self.head.cls_out_channels
        priors = self.head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores],
                                                       dtype=bbox_preds[0].dtype, device=bbox_preds[0].device)
        height, width = image_hw[:, 0, None], image_hw[:, 1, None]  # (B, 1)
        zero = torch.zeros_like(height)
        all_scores, all_boxes, all_labels = [], [], []
        for cls, dist, factor, points in zip(cls_scores, bbox_preds, factors, priors, strict=True):
            batch = cls.shape[0]
            score = cls.permute(0, 2, 3, 1).reshape(batch, -1, num_classes).sigmoid()
            factor = factor.permute(0, 2, 3, 1).reshape(batch, -1).sigmoid()
            if not self.with_nms:
                score = score * factor[..., None]  # the joint score ranks and thresholds
            score = score.reshape(batch, -1)
            score = torch.where(score > self.score_thr, score, torch.full_like(score, -1.0))
            k = score.shape[1] if self.nms_pre <= 0 else min(self.nms_pre, score.shape[1])
            top_scores, index = score.topk(k, dim=1)
            anchor, label = index // num_classes, index % num_classes
            dist = dist.permute(0, 2, 3, 1).reshape(batch, -1, 4).gather(1, anchor[..., None].expand(-1, -1, 4))
            point = points[anchor]
            box = torch.cat([point - dist[..., :2], point + dist[..., 2:]], dim=-1)
            box = torch.stack([box[..., 0].clamp(zero, width), box[..., 1].clamp(zero, height),
                               box[..., 2].clamp(zero, width), box[..., 3].clamp(zero, height)], dim=-1)
            if self.with_nms:  # FCOS: centerness multiplies the score after the top-k, as in mmdet
                top_scores = torch.where(top_scores > 0, top_scores * factor.gather(1, anchor), top_scores)
            if self.min_bbox_size >= 0:
                large = ((box[..., 2] - box[..., 0]) > self.min_bbox_size) & \
                        ((box[..., 3] - box[..., 1]) > self.min_bbox_size)
                top_scores = torch.where(large, top_scores, torch.full_like(top_scores, -1.0))
            all_scores.append(top_scores)
            all_boxes.append(box)
            all_labels.append(label)
        return torch.cat(all_scores, 1), torch.cat(all_boxes, 1), torch.cat(all_labels, 1)

    def top(self, scores: Tensor, boxes: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """The best K candidates by score, padding rows marked."""
        k = min(self.max_per_img, scores.shape[1])
        top_scores, index = scores.topk(k, dim=1)
        boxes = boxes.gather(1, index[..., None].expand(-1, -1, 4))
        return self.mark_padding(top_scores, boxes, labels.gather(1, index))

    def nms_top(self, scores: Tensor, boxes: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Class-aware NMS over the candidates, then the best K kept."""
        num_classes, num = self.head.cls_out_channels, scores.shape[1]
        is_class = labels[:, None, :] == torch.arange(num_classes, device=labels.device)[None, :, None]
        class_scores = torch.where(is_class, scores[:, None, :], torch.full_like(is_class, -1.0, dtype=scores.dtype))
        keep = nms_keep_mask(boxes, class_scores, self.iou_threshold, self.max_per_img)
        kept = torch.where(keep, class_scores, torch.full_like(class_scores, -1.0)).reshape(scores.shape[0], -1)
        k = min(self.max_per_img, kept.shape[1])
        top_scores, index = kept.topk(k, dim=1)
        candidate = index % num
        boxes = boxes.gather(1, candidate[..., None].expand(-1, -1, 4))
        return self.mark_padding(top_scores, boxes, index // num)

    def mark_padding(self, scores: Tensor, boxes: Tensor, labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Fixed K rows: label -1, score 0 and a zero box where there is no detection."""
        valid = scores > 0
        scores = torch.where(valid, scores, torch.zeros_like(scores))
        labels = torch.where(valid, labels, torch.full_like(labels, -1))
        boxes = torch.where(valid[..., None], boxes, torch.zeros_like(boxes))
        missing = self.max_per_img - scores.shape[1]
        if missing > 0:
            scores = nn.functional.pad(scores, (0, missing))
            labels = nn.functional.pad(labels, (0, missing), value=-1)
            boxes = nn.functional.pad(boxes, (0, 0, 0, missing))
        return boxes, scores, labels
