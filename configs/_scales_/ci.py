# CI scale: the demo scale's model and optimiser on synthetic shapes (128 px, 2 classes),
# 2 epochs of a few iterations; what the tests and the tiny end-to-end DAG run.
_base_ = './demo.py'
image_size = 128

model = dict(backbone=dict(base_channels=16), neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
             bbox_head=dict(in_channels=32, feat_channels=32,
                            norm_cfg=dict(type='GN', num_groups=8, requires_grad=True)))
scaled_backbones = dict(resnet101=dict(base_channels=16), swin=dict(embed_dims=16, num_heads=[1, 1, 2, 4]))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(times=1, dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 2
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=4),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=1))
log_processor = dict(window_size=1)
