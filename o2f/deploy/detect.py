"""``o2f detect``: a trained checkpoint on image files, through mmdet's ``DetInferencer``.

Writes ``OUT/vis/<image name>`` (boxes, labels and scores drawn by mmdet's visualiser) and
``OUT/results.json`` (COCO results: image_id, file_name, category_id, bbox x y w h, score). Images
that are missing or cannot be decoded are skipped and reported together in one line at the end.
"""

from __future__ import annotations

import json
from pathlib import Path

import mmcv
from mmdet.apis import DetInferencer
from mmengine.config import Config

from ..detector_classes import use_classes
from ..errors import O2FError
from .checkpoint import check_fits, read_checkpoint, renamed_keys, state_dict_of

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class CheckedDetInferencer(DetInferencer):
    """mmdet's inferencer, refusing a checkpoint whose weights do not fit the config (mmengine
    would only warn and run with the missing weights random)."""

    def __init__(self, cfg: Config, checkpoint: str, config_path: str, device: str) -> None:
        self.checkpoint_path, self.config_path = checkpoint, config_path
        super().__init__(model=cfg, weights=checkpoint, device=device, show_progress=False)

    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        checkpoint = {**checkpoint, "state_dict": renamed_keys(model, state_dict_of(checkpoint))}
        check_fits(model, checkpoint, self.checkpoint_path, self.config_path)
        super()._load_weights_to_model(model, checkpoint, cfg)


def expand_images(paths: list[str]) -> tuple[list[str], list[str]]:
    """(image files, problems): folders give their image files (sorted, not recursive); a missing
    path, an empty folder or a file that does not decode becomes a problem."""
    images, problems = [], []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                problems.append(f"{path} (no image files)")
            candidates = found
        elif path.exists():
            candidates = [path]
        else:
            problems.append(f"{path} (does not exist)")
            continue
        for candidate in candidates:
            try:
                readable = mmcv.imread(str(candidate)) is not None
            except Exception:  # unreadable file, permission
                readable = False
            if readable:
                images.append(str(candidate))
            else:
                problems.append(f"{candidate} (not a readable image)")
    return images, problems


def annotation_ids(cfg: Config, classes: list[str]) -> tuple[dict[str, int], list[int] | None]:
    """Image ids by file name and category ids by class, from the config's test annotation file
    when it exists (results then evaluate against it); else ({}, None)."""
    dataset = cfg.test_dataloader.dataset
    while "dataset" in dataset:
        dataset = dataset.dataset
    path = Path(dataset.get("data_root", "")) / dataset.get("ann_file", "")
    if path.suffix != ".json" or not path.is_file():
        return {}, None
    coco = json.loads(path.read_text())
    image_ids = {Path(image["file_name"]).name: image["id"] for image in coco.get("images", [])}
    by_name = {category["name"]: category["id"] for category in coco.get("categories", [])}
    category_ids = [by_name[name] for name in classes] if all(name in by_name for name in classes) else None
    return image_ids, category_ids


def coco_results(images: list[str], predictions: list[dict], score_thr: float, image_ids: dict[str, int],
                 category_ids: list[int] | None) -> list[dict]:
    """COCO detection results; without an annotation file, image ids count from 1 in input order
    and category ids are label + 1."""
    results = []
    for index, (image, prediction) in enumerate(zip(images, predictions, strict=True), start=1):
        name = Path(image).name
        for (x1, y1, x2, y2), score, label in zip(prediction["bboxes"], prediction["scores"], prediction["labels"],
                                                  strict=True):
            if score < score_thr:
                continue
            results.append({"image_id": image_ids.get(name, index), "file_name": name,
                            "category_id": category_ids[label] if category_ids else label + 1,
                            "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
    return results


def detect(cfg: Config, config_path: str, checkpoint: str, inputs: list[str], out: str | Path,
           score_thr: float = 0.3, nms: bool | None = None, device: str = "cpu") -> dict:
    """Run, draw and write; returns counts. ``nms`` None keeps the config's choice (``test_cfg.nms_free``)."""
    images, problems = expand_images(inputs)
    out = Path(out)
    written, results = 0, []
    if images:
        if nms is not None:
            cfg.model.test_cfg.nms_free = not nms
        # a missing or unreadable file: one line, before mmengine's traceback; its classes size the heads
        use_classes(cfg, read_checkpoint(checkpoint).get("meta", {}).get("dataset_meta", {}).get("classes"))
        inferencer = CheckedDetInferencer(cfg, checkpoint, config_path, device)
        predictions = inferencer(images, out_dir=str(out), pred_score_thr=score_thr, no_save_pred=True)["predictions"]
        classes = list(inferencer.model.dataset_meta.get("classes", ()))
        results = coco_results(images, predictions, score_thr, *annotation_ids(cfg, classes))
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results))
        written = len(images)
    if problems:
        done = f"; the other {written} written to {out}" if written else ""
        raise O2FError(f"skipped {len(problems)} of {len(problems) + written} inputs: {', '.join(problems)}{done}")
    return {"images": written, "detections": len(results)}
