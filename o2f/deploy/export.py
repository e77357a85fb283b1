"""``o2f export``: write a detector and its post-processing as one ONNX graph (torch.onnx, dynamo).

The graph's metadata (``metadata_props``) carries what a caller needs to feed it and read it: the
input size and padding pixel, the classes, the score threshold and whether NMS is inside.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from mmengine.config import Config

from ..errors import O2FError
from .checkpoint import load_detector
from .end_to_end import INPUT_NAMES, OUTPUT_NAMES, EndToEndDetector
from .nms_op import ONNX_TRANSLATIONS

OPSET = 18


def pad_divisor(cfg: Config) -> int:
    return int(cfg.model.data_preprocessor.get("pad_size_divisor", 1) or 1)


def resize_box(cfg: Config) -> tuple[int, int]:
    """(height, width) of the box the test pipeline's keep-ratio Resize fits images into (landscape)."""
    pipeline = cfg.get("test_pipeline") or cfg.test_dataloader.dataset.pipeline
    for step in pipeline:
        if step["type"] == "Resize" and "scale" in step:
            scale = step["scale"]
            return (min(scale), max(scale)) if step.get("keep_ratio", False) else (scale[1], scale[0])
    raise O2FError("the config's test pipeline has no Resize with a scale; pass --input-size H W")


def input_sizes(cfg: Config, requested: tuple[int, int] | None) -> tuple[tuple[int, int], tuple[int, int]]:
    """(resize box, graph input): images fit into the first, padded up to the second (a multiple of
    the config's ``pad_size_divisor``, as mmdet pads)."""
    resize = tuple(requested) if requested else resize_box(cfg)
    if min(resize) <= 0:
        raise O2FError(f"--input-size must be positive, got {resize[0]} {resize[1]}")
    divisor = pad_divisor(cfg)
    return resize, tuple(math.ceil(side / divisor) * divisor for side in resize)


def export_onnx(cfg: Config, checkpoint: str | Path | None, out: str | Path, input_size: tuple[int, int] | None = None,
                dynamic_batch: bool = False, config_path: str | Path = "the config") -> dict:
    """Export and return the metadata written into the graph. ``checkpoint`` None: random weights."""
    detector, dataset_meta = load_detector(cfg, checkpoint, config_path)
    model = EndToEndDetector(detector).eval()
    resize, padded = input_sizes(cfg, input_size)
    batch = 2 if dynamic_batch else 1
    example = (torch.zeros(batch, 3, *padded), torch.tensor([resize] * batch, dtype=torch.float32))
    batch_dim = torch.export.Dim("batch", min=1, max=1024)
    dynamic_shapes = {"images": {0: batch_dim}, "image_hw": {0: batch_dim}} if dynamic_batch else None
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        program = torch.onnx.export(model, example, dynamo=True, input_names=list(INPUT_NAMES),
                                    output_names=list(OUTPUT_NAMES), dynamic_shapes=dynamic_shapes,
                                    custom_translation_table=ONNX_TRANSLATIONS, opset_version=OPSET)
    metadata = {
        "input": "images: float32 (B, 3, H, W) BGR 0-255, fitted into resize_hw keeping the aspect ratio, "
                 "padded at the bottom/right with pad_value_bgr to input_hw; image_hw: float32 (B, 2), "
                 "each fitted image's height and width",
        "outputs": f"boxes (B, {model.max_per_img}, 4) x1 y1 x2 y2 in input pixels; scores (B, {model.max_per_img}); "
                   f"labels (B, {model.max_per_img}) int64; padding rows: label -1, score 0, box 0",
        "input_hw": list(padded), "resize_hw": list(resize), "pad_value_bgr": model.pad_value_bgr(),
        "classes": list(dataset_meta.get("classes", ())), "score_thr": model.score_thr,
        "max_per_img": model.max_per_img, "nms": (f"class-aware NonMaxSuppression, IoU {model.iou_threshold}"
                                                  if model.with_nms else "none"),
        "dynamic_batch": dynamic_batch,
    }
    program.model.metadata_props.update({key: json.dumps(value) for key, value in metadata.items()})
    program.save(str(out), external_data=False)
    return metadata


def graph_op_types(path: str | Path) -> set[str]:
    """Every operator type in an ONNX file, inside its local functions and subgraphs too."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    types: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            types.add(node.op_type)
            for attribute in node.attribute:
                if attribute.g.node:
                    visit(attribute.g.node)
                for graph in attribute.graphs:
                    visit(graph.node)

    visit(model.graph.node)
    for function in model.functions:
        visit(function.node)
    return types
