"""Speed of a detector (Table 5's forward ms, NMS ms, FPS), on whatever device is present.

Batch 1 over validation images, a warm-up, then medians of: the network forward (backbone, neck,
head), decoding and score selection, and NMS on the same pre-NMS candidates. Weights are random
(speed does not depend on them). A model evaluated without NMS does not pay the NMS time.
"""

from __future__ import annotations

import time

import torch
from mmcv.ops import batched_nms
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from ..engine.device import device_name
from ..speed_cells import medians
from .config import load_config


def device_label(device: str) -> str:
    """The device a speed was measured on; on CPU the thread count matters too."""
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return f"{device_name()}, {torch.get_num_threads()} threads"


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def measure(config: str, scale: str, device: str, images: int = 15, warmup: int = 2,
            overrides: dict | None = None, data_root: str | None = None) -> dict[str, object]:
    """Median milliseconds per image: ``forward``, ``select`` (decode + threshold + top-k), ``nms``; and
    ``per_image``, each timed image's forward, post-processing and NMS (a claim on speed resamples them)."""
    from mmdet.registry import MODELS

    import o2f.plugin  # noqa: F401

    cfg = load_config(config, scale, overrides, data_root)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).to(device).eval()
    head = model.bbox_head
    cfg.val_dataloader.batch_size = 1
    with DefaultScope.overwrite_default_scope("mmdet"):  # as the Runner would, for the dataset types
        loader = Runner.build_dataloader(cfg.val_dataloader)
    timings: dict[str, list[float]] = {"forward": [], "post": [], "nms": []}
    with torch.no_grad(), head.keeping_candidates():
        for index, batch in enumerate(loader):
            if index >= warmup + images:
                break
            data = model.data_preprocessor(batch, False)
            metas = [s.metainfo for s in data["data_samples"]]
            sync(device)
            t0 = time.perf_counter()
            outs = head(model.extract_feat(data["inputs"]))
            sync(device)
            t1 = time.perf_counter()
            results = head.predict_by_feat(*outs, batch_img_metas=metas, rescale=True)
            sync(device)
            t2 = time.perf_counter()
            for result in results:
                candidates = result.metainfo["candidates"]
                if len(candidates):
                    batched_nms(candidates.bboxes, candidates.scores, candidates.labels, head.test_cfg.nms)
            sync(device)
            t3 = time.perf_counter()
            if index >= warmup:
                for key, value in (("forward", t1 - t0), ("post", t2 - t1), ("nms", t3 - t2)):
                    timings[key].append(value * 1000)
    return {**medians(timings), "per_image": timings}
