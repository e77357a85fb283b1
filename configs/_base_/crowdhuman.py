# CrowdHuman (Table 8) as in the authors' code: one class (full-body boxes, ignore regions honoured),
# 50 epochs, AdamW lr 4e-5 for 16 images, step at epoch 40, training shorter side 480-960 (longer
# <= 1400), testing (1400, 800), 5000 candidates and 500 detections per image. Referenced by
# configs/crowdhuman/* as {{_base_.crowdhuman_*}}.
crowdhuman_root = 'data/crowdhuman/'
crowdhuman_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=[(1400, 480), (1400, 960)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
crowdhuman_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(1400, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
crowdhuman_train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    dataset=dict(_delete_=True, type='CrowdHumanDataset', data_root=crowdhuman_root,
                 ann_file='annotation_train.odgt', data_prefix=dict(img='Images/'),
                 pipeline=crowdhuman_train_pipeline))
crowdhuman_val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_delete_=True, type='CrowdHumanDataset', data_root=crowdhuman_root,
                 ann_file='annotation_val.odgt', data_prefix=dict(img='Images/'), test_mode=True,
                 pipeline=crowdhuman_test_pipeline))
# AP, mMR and recall with and without NMS from one forward pass (mmdet's JI is left out: it is slow).
crowdhuman_val_evaluator = dict(_delete_=True, type='DualNMSCrowdHumanMetric',
                                ann_file=crowdhuman_root + 'annotation_val.odgt', metric=['AP', 'MR'])
crowdhuman_test_cfg = dict(nms_pre=5000, max_per_img=500)
crowdhuman_max_epochs = 50
crowdhuman_optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                                optimizer=dict(type='AdamW', lr=4e-5, weight_decay=1e-4),
                                clip_grad=dict(max_norm=35, norm_type=2))
crowdhuman_param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=crowdhuman_max_epochs, by_epoch=True, milestones=[40], gamma=0.1),
]
