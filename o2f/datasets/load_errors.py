"""A dataset wrapper that turns a sample failing to load into one line naming its image.

The pre-flight check (``o2f.pipeline.data.checks``) reads every image before training; this catches what
changes or breaks later (a file replaced, a disk going bad), so the run stops with the file's name
instead of a traceback through the data loader.
"""

from __future__ import annotations

import cv2
from mmdet.registry import DATASETS

from ..errors import DataError

LOAD_ERRORS = (OSError, AssertionError, cv2.error)  # what mmcv's LoadImageFromFile raises on a bad file


@DATASETS.register_module()
class NamedLoadErrors:
    """Wrap a dataset (config or instance); loading errors name the sample's image."""

    def __init__(self, dataset) -> None:
        self.dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def full_init(self) -> None:
        self.dataset.full_init()

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(idx)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, idx: int):
        try:
            return self.dataset[idx]
        except LOAD_ERRORS as err:
            image = self.get_data_info(idx).get("img_path", f"sample {idx}")
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise DataError(f"image {image} could not be loaded ({type(err).__name__}: {reason}); replace or "
                            "remove it and rerun: training resumes from the last checkpoint") from err
