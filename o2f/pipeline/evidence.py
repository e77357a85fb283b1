"""A finished run's evidence: what every report reads, kept in
``evidence/<scale>/<experiment>/<kind>/seed<k>/`` (``<kind>``: the processor and precision it ran on,
``run_kinds.kind_folder``) and committed, so reports re-render and claims resample on any machine long after
the work dir is gone.

- ``run.json``: who the run is (experiment, seed, scale, config, overrides, a digest of the resolved
  config, the commit), where it ran (device, precision, and the *kind* that pairs runs: CPU or GPU with
  its bf16 instructions, and the precision), every epoch's metrics as the evaluator logged them and mean
  training losses, the failed-run flag, and each resampled epoch's metrics recomputed from its detections
  at full precision.
- ``detections.json.gz``: the detections with and without NMS of the epochs claims read (the last one;
  every epoch for a run a figure's curve shows), as mmdet's metrics write them.
- ``resampled.json.gz``: each of those metrics on the crossed bootstrap's image multisets
  (``statistics.image_draws``), so a report resamples seeds and images without torch or pycocotools.
- ``score_maps/epoch_<E>.npz`` for a run Figure 6 shows: its maps after the first and the last epoch, the
  first with the input image as the network saw it (the figure needs no data set).

Every file is written byte for byte the same from the same run (sorted keys, gzip without a time stamp):
a rerun that reproduces a committed run leaves ``git status`` clean.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from ..bootstrap_draws import BOOTSTRAP_SEED, N_RESAMPLES, image_draws
from ..engine.hooks import box_loss_weight
from ..errors import O2FError
from ..run_kinds import run_kind
from ..work_dir import DETECTIONS, FINAL_METRICS, SCORE_MAPS
from .layout import EVIDENCE_DETECTIONS as DETECTIONS_FILE
from .layout import EVIDENCE_RESAMPLED as RESAMPLED
from .layout import EVIDENCE_RUN as RUN

VARIANTS = ("nms", "nonms")


def config_digest(cfg) -> str:
    """A digest of the resolved config (what trained), independent of where the run's files are."""
    tree = cfg.to_dict()
    for key in ("work_dir", "visualizer", "launcher", "resume", "load_from"):
        tree.pop(key, None)
    return hashlib.sha256(json.dumps(tree, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_gzip_json(path: Path, value) -> None:
    """gzip'd JSON, byte-identical for equal values (no time stamp or file name in the header)."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle:
        handle.write(data)


def detection_files(work_dir: Path, epoch: int) -> dict[str, dict[str, Path]]:
    """{variant: {kind: file}} the metric wrote after ``epoch`` (kind: bbox, segm, or odgt for CrowdHuman)."""
    found: dict[str, dict[str, Path]] = {}
    for variant in VARIANTS:
        prefix = work_dir / DETECTIONS / f"epoch_{epoch}_{variant}"
        files = {kind: Path(f"{prefix}.{kind}.json") for kind in ("bbox", "segm")}
        files = {kind: path for kind, path in files.items() if path.exists()}
        if not files and Path(f"{prefix}.json").exists():
            files = {"odgt": Path(f"{prefix}.json")}
        if not files:
            raise O2FError(f"{work_dir} has no detections of epoch {epoch} ({prefix}.*json): trained before runs "
                           "kept their detections; train it again in a new work dir")
        found[variant] = files
    return found


def evaluator_scores(cfg, variant_files: dict[str, list]) -> dict[str, object]:
    """A resampler per metric family of one variant: COCO boxes and masks, or CrowdHuman (classes and
    matching settings from the config's evaluator)."""
    from ..evaluation.resampled import CocoResampler, CrowdHumanResampler

    evaluator = cfg.val_evaluator
    if "odgt" in variant_files:
        classes = cfg.val_dataloader.dataset.get("metainfo", {}).get("classes", ("person",))
        settings = {k: evaluator[k] for k in ("eval_mode", "iou_thres", "compare_matching_method", "mr_ref")
                    if k in evaluator}
        return {"crowd_human": CrowdHumanResampler(evaluator.ann_file, variant_files["odgt"], classes, **settings)}
    return {kind: CocoResampler(evaluator.ann_file, results, kind) for kind, results in variant_files.items()}


def metric_key(family: str, variant: str, item: str) -> str:
    """The evaluator's own key: ``coco/nonms_bbox_mAP``, ``coco/nms_segm_AR_100``, ``crowd_human/nms_mMR``."""
    item = item.replace("@", "_")
    return f"crowd_human/{variant}_{item}" if family == "crowd_human" else f"coco/{variant}_{family}_{item}"


def resample(cfg, detections: dict[str, dict[str, list]], n_resamples: int,
             rng_seed: int) -> tuple[dict, dict, int]:
    """({key: value on every test image}, {key: values on the bootstrap's image multisets}, test images) of
    one epoch."""
    full, draws, n_images = {}, {}, 0
    for variant, files in detections.items():
        for family, resampler in evaluator_scores(cfg, files).items():
            n_images = len(resampler.image_ids)
            whole = resampler.scores(np.arange(n_images))
            rows = [resampler.scores(images) for images in image_draws(n_images, n_resamples, rng_seed)]
            for item, value in whole.items():
                key = metric_key(family, variant, item)
                full[key] = float(value)
                draws[key] = [round(float(row[item]), 7) for row in rows]
    return full, draws, n_images


def write_evidence(work_dir: Path, out: Path, identity: dict, cfg, all_epochs: bool,
                   n_resamples: int = N_RESAMPLES, rng_seed: int = BOOTSTRAP_SEED) -> Path:
    """The evidence of the finished run in ``work_dir`` into ``out`` (see the module's docstring)."""
    final_file = work_dir / FINAL_METRICS
    if not final_file.exists():
        raise O2FError(f"{work_dir} holds no finished training ({FINAL_METRICS} is missing)")
    final = json.loads(final_file.read_text())
    epochs = [entry["epoch"] for entry in final["epochs"]]
    kept = epochs if all_epochs else epochs[-1:]
    detections = {f"epoch_{e}": {variant: {kind: json.loads(path.read_text()) for kind, path in files.items()}
                                 for variant, files in detection_files(work_dir, e).items()} for e in kept}
    full, draws, n_images = {}, {}, 0
    for epoch, by_variant in detections.items():
        full[epoch], draws[epoch], n_images = resample(cfg, by_variant, n_resamples, rng_seed)
    device, precision = final.get("device", "unknown"), final.get("precision")
    run = {**identity, "config_digest": config_digest(cfg), "device": device, "precision": precision,
           "kind": run_kind(device, precision), "epochs": final["epochs"], "losses": final.get("losses", []),
           "failed": final.get("failed"), "box_loss_weight": box_loss_weight(cfg),
           "full_precision": full,
           "bootstrap": {"n_resamples": n_resamples, "rng_seed": rng_seed, "n_images": n_images}}
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN).write_text(json.dumps(run, indent=1, sort_keys=True) + "\n")
    write_gzip_json(out / DETECTIONS_FILE, detections)
    write_gzip_json(out / RESAMPLED, draws)
    if (work_dir / SCORE_MAPS).is_dir():
        keep_score_maps(work_dir, out)
    return out


def write_npz(path: Path, arrays: dict) -> None:
    """``np.savez_compressed``'s format without its time stamps: the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in sorted(arrays.items()):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def keep_score_maps(work_dir: Path, out: Path) -> None:
    """Figure 6's maps, with the input image (resized as the network saw it) beside the first epoch's."""
    from PIL import Image

    files = sorted((work_dir / SCORE_MAPS).glob("epoch_*.npz"), key=lambda p: int(p.stem.split("_")[1]))
    (out / SCORE_MAPS).mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(files):
        with np.load(path) as maps:
            arrays = {key: maps[key] for key in maps.files}
        if index == 0 and Path(str(arrays["img_path"])).exists():
            with Image.open(str(arrays["img_path"])) as image:
                sw, sh = (float(v) for v in arrays["scale_factor"])
                size = (max(round(image.width * sw), 1), max(round(image.height * sh), 1))
                arrays["image"] = np.asarray(image.convert("RGB").resize(size))
        arrays["img_path"] = np.array(Path(str(arrays["img_path"])).name)
        write_npz(out / SCORE_MAPS / path.name, arrays)
