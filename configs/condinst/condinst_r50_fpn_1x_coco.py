# CondInst, one-to-many (Table 9 rows 1-2, one experiment): mmdet's CondInst, R50-FPN (its FCOS box head
# already centres the centre sampling on each mask's centroid), evaluated with and without NMS from one
# forward pass. 1x: 12 epochs at (1333, 800), SGD as in the authors' CondInst config. The POTO and
# one-to-few rows inherit this file.
_base_ = 'mmdet::condinst/condinst_r50_fpn_ms-poly-90k_coco_instance.py'

custom_imports = dict(imports=['o2f.plugin'], allow_failed_imports=False)

model = dict(
    type='DualNMSCondInst',
    bbox_head=dict(type='DualNMSCondInstBboxHead'),
    # mmdet's CondInstMaskHead as it is; the POTO and one-to-few rows add the authors' semantic loss
    mask_head=dict(type='SemanticCondInstMaskHead', num_classes=80, with_semantic=False),
    test_cfg=dict(nms_pre=1000, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100,
                  mask_thr=0.5, nms_free=False))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(sampler=dict(type='DefaultSampler', shuffle=True), dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# Box and mask AP/AR with NMS (IoU 0.6) and without (score sort, top 100): coco/{nms,nonms}_segm_mAP, ...
val_evaluator = dict(type='DualNMSCocoMetric', metric=['bbox', 'segm'])
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(optimizer=dict(lr=0.01, momentum=0.9, weight_decay=1e-4),
                     paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2))
log_processor = dict(by_epoch=True)
