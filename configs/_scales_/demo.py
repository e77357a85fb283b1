# Demo scale: real aerial tree crowns (deepforest 2.1.0 wheel, MIT) on a 2-core CPU, from scratch.
# Replaces dataset, backbone, widths, image size and optimiser of any experiment; keeps 12 epochs
# because the one-to-few T schedule is per epoch.
image_size = 384
crop_size = (256, 256)

model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                           bgr_to_rgb=True, pad_size_divisor=64),
    # ChannelsLastResNet: mmdet's ResNet computing in channels-last (same outputs, faster on a CPU core)
    backbone=dict(_delete_=True, type='ChannelsLastResNet', depth=18, base_channels=32, num_stages=4,
                  out_indices=(0, 1, 2, 3), frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True),
                  norm_eval=False, style='pytorch', init_cfg=None,
                  channels_last_outputs=True),  # neck + head channels-last too on a CPU (docs/step_cost.md)
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64, start_level=1, num_outs=4),
    bbox_head=dict(in_channels=64, feat_channels=64, stacked_convs=2,
                   # ChannelsLastGN: mmcv's GN with a fast backward on channels-last maps (same values)
                   norm_cfg=dict(type='ChannelsLastGN', num_groups=16, requires_grad=True),
                   strides=[8, 16, 32, 64], regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 1e8))))

# What a table that varies the backbone trains at this scale (o2f/pipeline/config.py, use_scaled_backbone):
# Table 6's ResNet-101 a deeper ResNet than the default, Table 7's Swin-T a small Swin transformer, both at
# the default's width (the neck's inputs stay [32, 64, 128, 256]) and from scratch like the rest. The window
# (4) fits the 256 px crops' feature maps (64 to 8 px); every other paper backbone becomes the default above.
scaled_backbones = dict(
    resnet101=dict(type='ChannelsLastResNet', depth=34, base_channels=32, num_stages=4, out_indices=(0, 1, 2, 3),
                   frozen_stages=-1, norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch',
                   init_cfg=None, channels_last_outputs=True),
    swin=dict(type='SwinTransformer', embed_dims=32, depths=[2, 2, 2, 2], num_heads=[1, 2, 4, 8], window_size=4,
              mlp_ratio=4, qkv_bias=True, drop_path_rate=0.1, patch_norm=True, out_indices=(0, 1, 2, 3),
              frozen_stages=-1, convert_weights=False, init_cfg=None),
)

train_pipeline = [
    dict(type='CachedLoadImageFromFile'),  # the 38 tiles decoded once, not 37 times an epoch
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(image_size, image_size), ratio_range=(0.77, 1.3), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, allow_negative_crop=False),
    dict(type='RandomFlip', prob=[0.25, 0.25, 0.25], direction=['horizontal', 'vertical', 'diagonal']),
    dict(type='RandomTranspose', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# No loader workers: on 2 cores they slow training by ~20 % (0.52 vs 0.41 s/iteration, measured).
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='RepeatDataset', times=37, dataset=dict(
        type='CocoDataset', ann_file='annotations/train.json',
        data_prefix=dict(img='images/'), filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline)))
val_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='CocoDataset', ann_file='annotations/val.json', data_prefix=dict(img='images/'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 12
# PrefetchingEpochBasedTrainLoop: the next batch loads on a thread while this one trains (same weights;
# o2f/engine/prefetch.py)
train_cfg = dict(type='PrefetchingEpochBasedTrainLoop', max_epochs=max_epochs)
# Precision (o2f/engine/precision.py): auto trains in bf16 autocast where the device runs bf16 natively
# (AMX-BF16 or AVX512-BF16 cores, a bf16 GPU: 0.45-0.52x the float32 step on one core, benchmarks/train_step.py)
# and in float32 elsewhere (emulated bf16 is ~17x slower); bf16 or fp32 force one. --cfg-options precision=fp32
precision = 'auto'
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05, fused=True),  # fused: one CPU kernel
                     clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=150),
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=1e-5, by_epoch=True, begin=0, end=max_epochs,
         convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=25))
log_processor = dict(window_size=25)
auto_scale_lr = dict(enable=False)
