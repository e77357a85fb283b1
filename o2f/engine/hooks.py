"""Hooks that carry the training epoch into the model."""

from __future__ import annotations

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class EpochToHeadHook(Hook):
    """Before each training epoch, call ``bbox_head.set_epoch(epoch, max_epochs)``.

    Epoch-dependent losses (one-to-few's T of Eq. 3, Hybrid-Epoch's weight switch) read it; a resumed
    run restores ``runner.epoch`` before this hook fires, so the schedule continues where it was.
    """

    priority = "NORMAL"

    def before_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model.bbox_head.set_epoch(runner.epoch, runner.max_epochs)
