# CondInst configs at the demo scale: the demo scale's model and optimiser on synthetic shapes with
# instance masks (the tree crowns have none), written by `o2f prepare-data synthetic_shapes_demo`:
# 800 training and 100 validation images of 128 px, 2 classes; ~10 min for 12 epochs on 2 CPU cores.
_base_ = '../demo.py'
image_size = 128

model = dict(mask_head=dict(semantic_channels=64,
                            mask_feature_head=dict(in_channels=64, feat_channels=64, num_stacked_convs=2)))

train_pipeline = [
    dict(type='CachedLoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),  # bitmaps: the shapes' masks are RLE
    dict(type='RandomResize', scale=(image_size, image_size), ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(image_size, image_size), keep_ratio=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
# (no pinned memory on a CPU, unlike mmdet's CondInst config)
train_dataloader = dict(pin_memory=False, dataset=dict(times=1, dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(pin_memory=False, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
