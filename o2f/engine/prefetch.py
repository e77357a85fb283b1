"""Load the next batch on a thread while the model trains on this one.

With ``num_workers=0`` (the demo scale: loader processes cost more than they save on two cores) the
training waits for every batch to be decoded and augmented. A thread that prepares batch k + 1 while
batch k trains hides that wait wherever a core is free for it. A training ends with the same weights:
mmdet's transforms draw from numpy's and python's generators, which only the thread draws from during an
epoch; the loader's one torch draw (its base seed) comes when the epoch's first batch is asked for, after
``ExactResumeHook`` has seeded the epoch and while the step waits, so a model that draws from torch's
generator (Swin's drop path) draws the same numbers. What would break that, random numbers drawn in the
training thread from numpy or python (mmdet's batch augments in the data preprocessor), turns the thread off.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterable, Iterator

from mmdet.registry import LOOPS
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop

_END = object()


def prefetched(batches: Iterable, depth: int = 1) -> Iterator:
    """``batches`` in order, each drawn on a thread up to ``depth`` ahead of its use. An error in the loader
    is raised where the batch would have been; a consumer that stops early stops the thread."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def load() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            put(error)
            return
        put(_END)

    thread = threading.Thread(target=load, name="o2f-prefetch", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


@LOOPS.register_module()
class PrefetchingEpochBasedTrainLoop(EpochBasedTrainLoop):
    """mmengine's epoch loop with each epoch's batches loaded one ahead on a thread (``prefetched``). The
    thread starts after ``before_train_epoch``, so every hook that seeds or sets up the epoch has run."""

    @property
    def prefetches(self) -> bool:
        """Not where the data preprocessor's batch augments draw random numbers beside the thread's."""
        model = self.runner.model.module if is_model_wrapper(self.runner.model) else self.runner.model
        return not getattr(model.data_preprocessor, "batch_augments", None)

    def run_epoch(self) -> None:
        self.runner.call_hook("before_train_epoch")
        self.runner.model.train()
        # closing: a stop mid-epoch stops the thread
        loads = contextlib.closing(prefetched(self.dataloader)) if self.prefetches else contextlib.nullcontext(
            self.dataloader)
        with loads as batches:
            for idx, data_batch in enumerate(batches):
                self.run_iter(idx, data_batch)
        self.runner.call_hook("after_train_epoch")
        self._epoch += 1
