"""Hooks the training tests register to stop a run and to look inside a resumed one."""

from __future__ import annotations

import copy

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


class Interrupt(Exception):
    """Stands in for the job being killed."""


class KillAfterEpoch(Hook):
    priority = "LOWEST"  # after CheckpointHook has written the epoch's checkpoint

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:  # runner.epoch counts finished epochs after this hook
            raise Interrupt


class Probe(Hook):
    """Records where a (resumed) run starts, which epochs it trains and the head's T in each."""

    priority = "LOW"  # after EpochToHeadHook (NORMAL) has updated the head

    def __init__(self) -> None:
        self.start_epoch = None
        self.optimizer_state = None
        self.trained_epochs = []
        self.temperatures = []

    def before_train(self, runner) -> None:
        self.start_epoch = runner.epoch
        self.optimizer_state = copy.deepcopy(runner.optim_wrapper.state_dict())  # training mutates it

    def before_train_epoch(self, runner) -> None:
        self.trained_epochs.append(runner.epoch + 1)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self.temperatures.append(getattr(model.bbox_head, "temperature", None))
