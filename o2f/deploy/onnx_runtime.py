"""Run an exported detector with ONNX Runtime: the host side of the graph (resize, pad, rescale).

Resizing is mmcv's ``imrescale`` (cv2, bilinear) with mmdet's keep-ratio rule, so an image fed here
reaches the network exactly as through the config's test pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import mmcv
import numpy as np

from ..errors import O2FError


@dataclass
class Prepared:
    """One image ready for the graph and what maps its boxes back."""

    tensor: np.ndarray      # (3, H, W) float32
    resized_hw: tuple[int, int]
    scale_factor: tuple[float, float]  # (w, h) resized / original, as mmdet's Resize records it


@dataclass
class Detections:
    boxes: np.ndarray   # (n, 4) x1 y1 x2 y2 in the original image's pixels
    scores: np.ndarray  # (n,)
    labels: np.ndarray  # (n,) int64


def session_options(threads: int | None):
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return options


class OnnxDetector:
    """An exported o2f graph in an ONNX Runtime session, with its metadata."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise O2FError(f"ONNX model {path} does not exist")
        self.session = ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        if "input_hw" not in meta:
            raise O2FError(f"{path} was not written by `o2f export` (no input_hw in its metadata)")
        self.meta = {key: json.loads(value) for key, value in meta.items()}
        self.input_hw = tuple(self.meta["input_hw"])
        self.resize_hw = tuple(self.meta["resize_hw"])
        self.pad_value = np.asarray(self.meta["pad_value_bgr"], dtype=np.float32)

    def prepare(self, image: np.ndarray) -> Prepared:
        """Fit a BGR uint8 image into the resize box keeping its aspect ratio, pad to the input size."""
        height, width = image.shape[:2]
        scale = min(self.resize_hw[0] / height, self.resize_hw[1] / width)
        resized = mmcv.imrescale(image, scale, interpolation="bilinear", backend="cv2")
        new_h, new_w = resized.shape[:2]
        canvas = np.empty((*self.input_hw, 3), dtype=np.float32)
        canvas[...] = self.pad_value
        canvas[:new_h, :new_w] = resized
        return Prepared(np.ascontiguousarray(canvas.transpose(2, 0, 1)), (new_h, new_w),
                        (new_w / width, new_h / height))

    def run(self, batch: np.ndarray, image_hw: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The graph's raw outputs (boxes, scores, labels) for a (B, 3, H, W) batch and its (B, 2) sizes."""
        return tuple(self.session.run(None, {"images": batch, "image_hw": image_hw.astype(np.float32)}))

    @staticmethod
    def finish(boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, prepared: Prepared) -> Detections:
        """One image's rows: padding dropped, boxes mapped back to the original image."""
        valid = labels >= 0
        boxes = boxes[valid] / np.asarray(prepared.scale_factor * 2, dtype=np.float32)
        return Detections(boxes, scores[valid], labels[valid])

    def __call__(self, image: np.ndarray) -> Detections:
        prepared = self.prepare(image)
        boxes, scores, labels = self.run(prepared.tensor[None], np.asarray([prepared.resized_hw]))
        return self.finish(boxes[0], scores[0], labels[0], prepared)
