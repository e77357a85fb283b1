"""SIGTERM (Slurm's scancel and time limit) stops training at the next iteration boundary.

Raising from the signal handler itself would land anywhere, and library code that catches broad
exceptions (mmengine formats the config inside ``except Exception`` while saving a checkpoint) turns
it into an unrelated error. The handler only records the request; a hook raises ``Stopped`` between
iterations, so the run ends as KILLED with its reason, and a rerun resumes from the last checkpoint.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

REASON = "stopped by SIGTERM; rerun the same command to resume from the last checkpoint"
requested = {"stop": False}


class Stopped(KeyboardInterrupt):
    """Training stopped on request: recorded like Ctrl-C (KILLED), reported in one line."""


@contextmanager
def stop_on_sigterm():
    """While active, SIGTERM asks the training to stop (only the main thread receives signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask(signum, frame) -> None:
        requested["stop"] = True

    requested["stop"] = False
    previous = signal.signal(signal.SIGTERM, ask)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@HOOKS.register_module()
class GracefulStopHook(Hook):
    """Raise ``Stopped`` at the first iteration boundary after a stop was asked for."""

    priority = "VERY_LOW"  # after the logger has recorded the step that just finished

    def check(self, *args, **kwargs) -> None:
        if requested["stop"]:
            raise Stopped(REASON)

    before_train = before_train_epoch = after_train_iter = after_val_iter = check
