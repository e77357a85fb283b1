# The paper's 3x schedule: 36 epochs, learning-rate steps at 24 and 33, multi-scale training with the
# shorter side in 640-800. Referenced by the 3x configs as {{_base_.ms_3x_*}}.
ms_3x_max_epochs = 36
ms_3x_milestones = [24, 33]
ms_3x_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
