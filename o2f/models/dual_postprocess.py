"""Post-processing that yields detections with and without NMS from one forward pass.

Every head in this project mixes this in, so each validation reports both numbers (the paper's
"w/ NMS" and "w/o NMS" columns) without running the network twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mmengine.structures import InstanceData

NMS_FIELD = "pred_instances_nms"
NO_NMS_FIELD = "pred_instances_nonms"


def top_scoring(results: InstanceData, max_per_img: int) -> InstanceData:
    """The NMS-free output: candidates sorted by score, best ``max_per_img`` kept."""
    order = results.scores.argsort(descending=True)[:max_per_img]
    return results[order]


class DualPostProcessMixin:
    """Mix into an mmdet dense head, before the head class, to get both NMS variants.

    ``test_cfg.nms_free`` picks which variant becomes ``pred_instances`` (what visualisers and
    single-metric evaluators see); both are stored on the data sample under ``NMS_FIELD`` and
    ``NO_NMS_FIELD`` for :class:`o2f.evaluation.DualNMSCocoMetric`.
    """

    keep_candidates = False  # per head, within ``keeping_candidates``

    @contextmanager
    def keeping_candidates(self) -> Iterator[None]:
        """Within: this head's predictions also carry their pre-NMS ``candidates`` (the speed benchmark
        times NMS on them); after, even on an exception, they do not."""
        before = self.keep_candidates
        self.keep_candidates = True
        try:
            yield
        finally:
            self.keep_candidates = before

    def _bbox_post_process(self, results, cfg, rescale=False, with_nms=True, img_meta=None):
        candidates = super()._bbox_post_process(results, cfg, rescale=rescale, with_nms=False,
                                                img_meta=img_meta)
        without_nms = top_scoring(candidates, cfg.max_per_img)
        with_nms_results = super()._bbox_post_process(candidates.clone(), cfg, rescale=False,
                                                      with_nms=True, img_meta=img_meta)
        without_nms.set_metainfo({"with_nms": with_nms_results})
        if self.keep_candidates:
            without_nms.set_metainfo({"candidates": candidates})
        return without_nms

    def predict(self, x, batch_data_samples, rescale=False):
        predictions = super().predict(x, batch_data_samples, rescale=rescale)
        nms_free = self.test_cfg.get("nms_free", False)
        chosen = []
        for data_sample, pred in zip(batch_data_samples, predictions, strict=True):
            with_nms = pred.metainfo["with_nms"]
            without_nms = InstanceData(**dict(pred.items()))  # drop the stashed metainfo
            data_sample.set_field(with_nms, NMS_FIELD)
            data_sample.set_field(without_nms, NO_NMS_FIELD)
            chosen.append(without_nms if nms_free else with_nms)
        return chosen
