# FCOS, the one-to-many baseline (Table 5 rows 1-2): mmdet's improved FCOS (center sampling,
# norm_on_bbox, centerness on regression, GIoU), evaluated with and without NMS.
# Every other experiment inherits this file for the plugin import and the dual evaluation.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py'

custom_imports = dict(imports=['o2f.plugin'], allow_failed_imports=False)

model = dict(
    bbox_head=dict(type='DualNMSFCOSHead'),
    test_cfg=dict(nms=dict(type='nms', iou_threshold=0.6), max_per_img=100, nms_free=False))

# COCO AP/AR with NMS (IoU 0.6) and without NMS (score sort, top 100) from one forward pass.
val_evaluator = dict(type='DualNMSCocoMetric', metric='bbox')
test_evaluator = val_evaluator
train_cfg = dict(val_interval=1)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
