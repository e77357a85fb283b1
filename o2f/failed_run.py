"""The failed-run rule, stated once: the training hook flags a run whose box regression died, the
report also flags a run far below its experiment's other seeds; a failed run is named wherever it is
shown and left out of the headline verdicts. No imports beyond the standard library, so the plugin and
the reports (without torch) read the same rule."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

DEGENERATE_GIOU_LOSS = 1.0  # 1 - GIoU of a box collapsed to a point inside its target (IoU 0, hull = target)
DEGENERATE_TOLERANCE = 1e-3  # a learning run's epoch-mean GIoU loss moves by far more than this per epoch
STUCK_EPOCHS = 3  # one or two epochs at the value can be a transient; three in a row is a dead regression branch
OUTLIER_FRACTION = 0.5  # seeds of one experiment differ by a few points of AP; half the others' is not seed noise


def failed_run(epoch_losses: Sequence[Mapping[str, float]], final: float, other_finals: Sequence[float],
               loss_key: str = "loss_bbox", loss_weight: float = 1.0, worst: float = 0.0) -> str | None:
    """Why a run counts as failed (one line), or None. Failed: (a) its box regression loss sat at the
    degenerate GIoU value (DEGENERATE_GIOU_LOSS times the config's ``loss_weight``; o2f's head uses 2.0)
    for STUCK_EPOCHS epochs in a row, or (b) its final metric is less than OUTLIER_FRACTION as far from
    the metric's ``worst`` value (0 for AP; 1, or 100 in points, for mMR) as the median of the other seeds
    of the same experiment: for AP, below half the others' median."""
    stuck = stuck_epochs(epoch_losses, loss_key, DEGENERATE_GIOU_LOSS * loss_weight)
    if stuck:
        return (f"{loss_key} stuck at its degenerate value {DEGENERATE_GIOU_LOSS * loss_weight:g} (collapsed boxes) "
                f"in epochs {stuck[0]}-{stuck[-1]}")
    if other_finals:
        median = statistics.median(other_finals)
        if abs(final - worst) < OUTLIER_FRACTION * abs(median - worst):
            return (f"final metric {final:g} is less than {OUTLIER_FRACTION:g} as far from the worst value "
                    f"{worst:g} as the other seeds' median {median:g}")
    return None


def stuck_epochs(epoch_losses: Sequence[Mapping[str, float]], loss_key: str, degenerate: float) -> list[int]:
    """The epochs of the first streak of at least STUCK_EPOCHS consecutive epochs whose loss equals
    ``degenerate`` within DEGENERATE_TOLERANCE (numbers from each entry's "epoch", else its 1-based
    position); [] if none. Entries without the loss (validation records) are skipped."""
    streak: list[int] = []
    for position, entry in enumerate(epoch_losses, start=1):
        if loss_key not in entry:
            continue
        if abs(float(entry[loss_key]) - degenerate) <= DEGENERATE_TOLERANCE:
            streak.append(int(entry.get("epoch", position)))
        elif len(streak) >= STUCK_EPOCHS:
            return streak
        else:
            streak = []
    return streak if len(streak) >= STUCK_EPOCHS else []
