"""Table 5's speed cells from a speed measurement (``o2f speed``): the medians of each part over the timed
images, and forward ms, NMS ms or FPS from them. Shared by the measurement, the tables and the claims
(which recompute them on resampled images); no torch.
"""

from __future__ import annotations

import statistics


def medians(per_image: dict[str, list[float]]) -> dict[str, float]:
    """Median milliseconds per image of ``forward``, ``select`` and ``nms`` from the per-image timings of the
    forward, the post-processing and NMS (the dual evaluation runs NMS inside the post-processing for every
    model: the selection is the post-processing less NMS)."""
    forward, post, nms = (statistics.median(per_image[k]) for k in ("forward", "post", "nms"))
    return {"forward": forward, "select": max(post - nms, 0.0), "nms": nms}


def table_value(speed: dict[str, float], metric: str, with_nms: bool) -> float:
    """A Table 5 speed cell: forward ms, NMS ms (0 without NMS) or FPS."""
    nms = speed["nms"] if with_nms else 0.0
    if metric == "forward":
        return speed["forward"]
    if metric == "nms":
        return nms
    if metric == "fps":
        return 1000.0 / (speed["forward"] + speed["select"] + nms)
    raise ValueError(f"unknown speed metric {metric!r}")
