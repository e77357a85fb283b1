"""Build a detector from a config and load a checkpoint whose weights must fit it exactly.

mmengine's ``load_checkpoint`` only warns about missing or unexpected keys, so a checkpoint of another
experiment or scale would run with half its weights random. Here the first mismatching key stops it.
"""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import nn

from ..detector_classes import use_classes
from ..errors import O2FError


def read_checkpoint(path: str | Path) -> dict:
    """The checkpoint's dict (``state_dict`` and ``meta``), read with torch's safe loader."""
    from ..engine import allow_mmengine_checkpoints

    path = Path(path)
    if not path.is_file():
        raise O2FError(f"checkpoint {path} does not exist")
    allow_mmengine_checkpoints()
    try:
        checkpoint = torch.load(path, map_location="cpu")
    except Exception as err:  # a truncated file, not a torch pickle, a refused type
        lines = str(err).strip().splitlines()
        reason = f"{type(err).__name__} {lines[0]}" if lines else type(err).__name__
        raise O2FError(f"cannot read checkpoint {path} (not a torch checkpoint?): {reason}") from err
    if not isinstance(checkpoint, dict):
        raise O2FError(f"checkpoint {path} holds a {type(checkpoint).__name__}, not a state dict")
    return checkpoint


def trained_scale(path: str | Path) -> str | None:
    """The scale a checkpoint was trained at: its config's ``scale`` (mmengine keeps the config in the
    checkpoint's meta), else the config mmengine dumped in its work dir; None when neither says."""
    texts = [read_checkpoint(path).get("meta", {}).get("cfg") or ""]
    texts += [config.read_text() for config in sorted(Path(path).parent.glob("*.py"))]
    for text in texts:
        found = re.search(r"^scale = '([\w-]+)'$", text, flags=re.MULTILINE)
        if found:
            return found.group(1)
    return None


def state_dict_of(checkpoint: dict) -> dict[str, torch.Tensor]:
    """The weights, without the ``module.`` prefix a wrapped (distributed) model saves."""
    state = checkpoint.get("state_dict", checkpoint)
    return {key.removeprefix("module."): value for key, value in state.items()}


def renamed_keys(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A checkpoint written before the one-to-few head named its objectness output ``conv_objectness``
    (it was ``conv_centerness``) reads as it is now; FCOS's own centerness keeps its name."""
    expected = model.state_dict()

    def now(key: str) -> str:
        new = key.replace(".conv_centerness.", ".conv_objectness.")
        return new if new in expected and key not in expected else key

    return {now(key): value for key, value in state.items()}


def first_mismatch(model: nn.Module, state: dict[str, torch.Tensor]) -> str | None:
    """The first key, in the model's order, that the checkpoint lacks or holds in another shape;
    else the first checkpoint key the model does not have; None when they fit."""
    expected = model.state_dict()
    for key, value in expected.items():
        if key not in state:
            return f"'{key}' is missing from the checkpoint"
        if tuple(state[key].shape) != tuple(value.shape):
            return (f"'{key}' has shape {tuple(state[key].shape)} in the checkpoint, "
                    f"{tuple(value.shape)} in the model")
    for key in state:
        if key not in expected:
            return f"'{key}' in the checkpoint is not in the model"
    return None


def build_detector(cfg: Config) -> nn.Module:
    """The config's detector with no pretrained-backbone download (the checkpoint has every weight)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import o2f.plugin  # noqa: F401  (registers the heads)

    register_all_modules()
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


def check_fits(model: nn.Module, checkpoint: dict, checkpoint_path: str | Path, config_path: str | Path) -> None:
    mismatch = first_mismatch(model, state_dict_of(checkpoint))
    if mismatch:
        raise O2FError(f"checkpoint {checkpoint_path} does not fit {config_path}: {mismatch}")


def load_detector(cfg: Config, checkpoint_path: str | Path | None, config_path: str | Path = "the config"
                  ) -> tuple[nn.Module, dict]:
    """The detector in eval mode with the checkpoint's weights (random ones for None) and its dataset meta."""
    checkpoint = read_checkpoint(checkpoint_path) if checkpoint_path is not None else None
    meta = {"classes": tuple(cfg.get("metainfo", {}).get("classes", ()))}
    if checkpoint is not None:
        meta = checkpoint.get("meta", {}).get("dataset_meta", meta)
        use_classes(cfg, meta.get("classes"))
    model = build_detector(cfg)
    if checkpoint is not None:
        state = renamed_keys(model, state_dict_of(checkpoint))
        check_fits(model, {"state_dict": state}, checkpoint_path, config_path)
        model.load_state_dict(state)
    else:
        with quiet_mmengine():
            model.init_weights()
    return model.eval(), meta


@contextlib.contextmanager
def quiet_mmengine():
    """mmengine logs every parameter's initialisation at INFO: keep random-weight builds quiet."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
