"""Table 5's speed columns: forward ms, NMS ms and FPS per model, on whatever device is present.

Runs each model over the validation images of a scale (batch 1, warm-up, then the median),
timing the network forward (backbone, neck, head), the post-processing, and within it the NMS
(only the models evaluated with NMS pay for it; NMS-free models sort and keep the top scores).
Weights are random unless --checkpoint-root holds <experiment>/seed0/epoch_*.pth; speed does not
depend on them.

    .venv/bin/python benchmarks/speed.py --scale demo [--images 20] [--device cuda]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from mmcv.ops import batched_nms
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.runner import Runner

import o2f.plugin  # noqa: F401
from o2f.config import load_config
from o2f.models.dual_postprocess import DualPostProcessMixin

MODELS_TO_TIME = {
    "FCOS (w/ NMS)": "configs/fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py",
    "POTO": "configs/poto/poto_r50_fpn_1x_coco.py",
    "POTO+3DMF": "configs/poto/poto-3dmf_r50_fpn_1x_coco.py",
    "Ours-3convs": "configs/o2f/o2f_r50_fpn_1x_coco.py",
}


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_model(config: str, scale: str, device: str, images: int, warmup: int) -> dict[str, float]:
    cfg = load_config(config, scale)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model).to(device).eval()
    head = model.bbox_head
    loader = Runner.build_dataloader(cfg.val_dataloader)
    nms_free = head.test_cfg.get("nms_free", False)
    forward, post, nms = [], [], []
    with torch.no_grad():
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
            # the NMS alone, on the same pre-NMS candidates (the dual evaluation runs it for every model)
            candidates = [r.metainfo["candidates"] for r in results]
            sync(device)
            t3 = time.perf_counter()
            for c in candidates:
                if len(c):
                    batched_nms(c.bboxes, c.scores, c.labels, head.test_cfg.nms)
            sync(device)
            nms_ms = (time.perf_counter() - t3) * 1000
            if index >= warmup:
                forward.append((t1 - t0) * 1000)
                post.append((t2 - t1) * 1000)
                nms.append(nms_ms)
    fwd, nms_median = statistics.median(forward), statistics.median(nms)
    # What the model itself needs: decoding and selection, plus NMS only if it is evaluated with NMS.
    nms_ms = 0.0 if nms_free else nms_median
    own_post = max(statistics.median(post) - nms_median, 0.0) + nms_ms
    return {"forward": fwd, "nms": nms_ms, "post": own_post, "fps": 1000 / (fwd + own_post)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="demo")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    register_all_modules()
    DualPostProcessMixin.keep_candidates = True
    name = torch.cuda.get_device_name(0) if args.device == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {name}; scale: {args.scale}; batch 1; median over {args.images} images after {args.warmup}")
    print(f"{'model':<16} {'forward (ms)':>13} {'NMS (ms)':>9} {'post (ms)':>10} {'FPS':>6}")
    for label, config in MODELS_TO_TIME.items():
        t = time_model(config, args.scale, args.device, args.images, args.warmup)
        print(f"{label:<16} {t['forward']:>13.1f} {t['nms']:>9.2f} {t['post']:>10.1f} {t['fps']:>6.1f}")


if __name__ == "__main__":
    main()
