# The 3x schedule of schedule_3x.py for CondInst: the same 36 epochs, steps and 640-800 multi-scale
# training, with instance masks loaded, and the authors' 500-iteration CondInst warm-up.
_base_ = './schedule_3x.py'

condinst_3x_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
condinst_3x_param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end={{_base_.ms_3x_max_epochs}}, by_epoch=True,
         milestones={{_base_.ms_3x_milestones}}, gamma=0.1),
]
