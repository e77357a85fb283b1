# CondInst configs at the ci scale: the ci model and schedule on the synthetic shapes, with their
# instance masks loaded (bitmaps: the shapes' masks are RLE) and a narrow mask branch.
_base_ = '../ci.py'

model = dict(mask_head=dict(semantic_channels=32,
                            mask_feature_head=dict(in_channels=32, feat_channels=32, num_stacked_convs=2)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=({{_base_.image_size}}, {{_base_.image_size}}), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
# mmdet's CondInst config pins memory, which a CPU cannot
train_dataloader = dict(pin_memory=False, dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(pin_memory=False)
test_dataloader = val_dataloader
