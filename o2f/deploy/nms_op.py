"""Class-aware NMS as one custom op with a fixed-shape output, so FCOS exports with ONNX's
NonMaxSuppression and its post-processing keeps static shapes.

In PyTorch the op runs torchvision's ``batched_nms``; in ONNX it becomes NonMaxSuppression (per
class, IoU and a score threshold of 0) whose selected indices are scattered into a keep mask.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchvision.ops import batched_nms


@torch.library.custom_op("o2f::nms_keep_mask", mutates_args=())
def nms_keep_mask(boxes: Tensor, class_scores: Tensor, iou_threshold: float, max_per_class: int) -> Tensor:
    """Keep mask (B, C, N) of class-aware NMS over boxes (B, N, 4) and class scores (B, C, N); entries
    with a score <= 0 are not candidates. At most ``max_per_class`` kept per image and class."""
    keep = torch.zeros_like(class_scores, dtype=torch.bool)
    for image, (image_boxes, scores) in enumerate(zip(boxes, class_scores, strict=True)):
        classes, candidates = (scores > 0).nonzero(as_tuple=True)
        kept = batched_nms(image_boxes[candidates], scores[classes, candidates], classes, iou_threshold)
        kept_classes = classes[kept]  # kept is sorted by score: the rank within its class caps it
        rank = torch.nn.functional.one_hot(kept_classes, class_scores.shape[1]).cumsum(0)
        kept = kept[rank[torch.arange(len(kept)), kept_classes] <= max_per_class]
        keep[image, classes[kept], candidates[kept]] = True
    return keep


@nms_keep_mask.register_fake
def _(boxes: Tensor, class_scores: Tensor, iou_threshold: float, max_per_class: int) -> Tensor:
    return torch.empty_like(class_scores, dtype=torch.bool)


def onnx_nms_keep_mask(boxes, class_scores, iou_threshold: float, max_per_class: int):
    """The op in ONNX (onnxscript, for ``torch.onnx.export``'s ``custom_translation_table``)."""
    from onnxscript import opset18 as op

    selected = op.NonMaxSuppression(boxes, class_scores, op.Constant(value_ints=[max_per_class]),
                                    op.Constant(value_floats=[iou_threshold]), op.Constant(value_floats=[0.0]))
    zeros = op.ConstantOfShape(op.Shape(class_scores))  # float32 zeros
    ones = op.Expand(op.Constant(value_float=1.0), op.Shape(selected, start=0, end=1))
    return op.Cast(op.ScatterND(zeros, selected, ones), to=9)  # 9: BOOL


ONNX_TRANSLATIONS = {torch.ops.o2f.nms_keep_mask.default: onnx_nms_keep_mask}
