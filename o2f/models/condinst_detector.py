"""CondInst whose masks are decoded for both NMS variants of one forward pass (Table 9's w/ and w/o NMS)."""

from __future__ import annotations

from mmdet.models.detectors import CondInst
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

from .dual_postprocess import NMS_FIELD, NO_NMS_FIELD

# what the box head hands the mask head; not part of a prediction
MASK_HEAD_INPUTS = ("param_preds", "points", "strides")


@MODELS.register_module()
class DualNMSCondInst(CondInst):
    """The box head (a ``DualPostProcessMixin`` head) writes both variants on each data sample; the
    mask head then decodes the masks of both at once, on one mask-feature map.

    ``test_cfg.nms_free`` picks which variant becomes ``pred_instances``.
    """

    def predict(self, batch_inputs, batch_data_samples, rescale: bool = True):
        x = self.extract_feat(batch_inputs)
        self.bbox_head.predict(x, batch_data_samples, rescale=False)  # the mask head rescales the boxes
        counts = [len(sample.get(NMS_FIELD)) for sample in batch_data_samples]
        joined = [InstanceData.cat([sample.get(NMS_FIELD), sample.get(NO_NMS_FIELD)]) for sample in batch_data_samples]
        joined = self.mask_head.predict(x, batch_data_samples, rescale=rescale, results_list=joined)
        nms_free = self.bbox_head.test_cfg.get("nms_free", False)
        for sample, results, count in zip(batch_data_samples, joined, counts, strict=True):
            for key in MASK_HEAD_INPUTS:
                if key in results:
                    results.pop(key)
            with_nms, without_nms = results[:count], results[count:]
            sample.set_field(with_nms, NMS_FIELD)
            sample.set_field(without_nms, NO_NMS_FIELD)
            sample.pred_instances = without_nms if nms_free else with_nms
        return batch_data_samples
