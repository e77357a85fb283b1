"""`o2f` with a fault injected at an exact point, for the reliability tests.

    O2F_FAULT=step:N        SIGKILL itself after training iteration N (1-based, counted over epochs)
    O2F_FAULT=checkpoint:E  SIGKILL itself halfway through writing epoch_E.pth
    O2F_FAULT=val:E         SIGKILL itself after the first validation batch of epoch E
    O2F_FAULT=term:N        SIGTERM itself after training iteration N (Slurm's scancel)
    O2F_FAULT=corrupt:E:P   after training epoch E, overwrite the image P with bytes that do not decode
    O2F_FAULT=nospace:E     the disk fills halfway through writing epoch_E.pth (OSError ENOSPC)

A SIGKILL sent by the process itself is a `kill -9` that lands exactly there: nothing runs after it.
Everything else is the real command (`python tests/killpoints.py train ...` is `o2f train ...`).
"""

from __future__ import annotations

import errno
import os
import signal
import sys
from pathlib import Path

from mmengine.fileio.backends.local_backend import LocalBackend
from mmengine.hooks import Hook
from mmengine.runner import Runner


def die(sig: int = signal.SIGKILL) -> None:
    os.kill(os.getpid(), sig)


class FaultHook(Hook):
    priority = "LOWEST"  # after the logger has sent the step to MLflow

    def __init__(self, kind: str, args: list[str]) -> None:
        self.kind, self.args = kind, args

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.kind in ("step", "term") and runner.iter + 1 == int(self.args[0]):
            die(signal.SIGKILL if self.kind == "step" else signal.SIGTERM)

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if self.kind == "val" and runner.epoch == int(self.args[0]) and batch_idx == 0:
            die()

    def after_train_epoch(self, runner) -> None:
        if self.kind == "corrupt" and runner.epoch + 1 == int(self.args[0]):
            Path(self.args[1]).write_bytes(b"not an image")


def install(fault: str) -> None:
    kind, *args = fault.split(":", 2)
    if kind == "nospace":
        put = LocalBackend.put

        def half_then_full(self, obj, filepath):
            if Path(filepath).name == f"epoch_{args[0]}.pth":
                Path(filepath).write_bytes(obj[: len(obj) // 2])
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as a short write reports it
            put(self, obj, filepath)

        LocalBackend.put = half_then_full
        return
    if kind == "checkpoint":
        put = LocalBackend.put

        def half_then_die(self, obj, filepath):
            if Path(filepath).name == f"epoch_{args[0]}.pth":
                with open(filepath, "wb") as handle:
                    handle.write(obj[: len(obj) // 2])
                    handle.flush()
                    os.fsync(handle.fileno())
                die()
            put(self, obj, filepath)

        LocalBackend.put = half_then_die
        return
    train = Runner.train

    def train_with_fault(self):
        self.register_hook(FaultHook(kind, args))
        return train(self)

    Runner.train = train_with_fault


if __name__ == "__main__":
    if os.environ.get("O2F_FAULT"):
        install(os.environ["O2F_FAULT"])
    from o2f.pipeline.cli import main

    sys.exit(main(sys.argv[1:]))
