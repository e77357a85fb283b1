# CrowdHuman (Table 8): the dataset (one class, full-body boxes, ignore regions honoured), its metric,
# and the two recipes of the rows' authors, referenced by configs/crowdhuman/* as {{_base_.crowdhuman_*}}
# and {{_base_.defcn_crowdhuman_*}}.
# One-to-few, as strongwolf/o2f configs/crowdhuman.py: 50 epochs, AdamW lr 4e-5 (weight decay 1e-4) for
# 16 images, 1000-iteration warm-up, step at epoch 40, no gradient clipping, training shorter side
# 480-960 (longer <= 1400), testing (1400, 800), 5000 candidates and 500 detections per image.
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
                                optimizer=dict(type='AdamW', lr=4e-5, weight_decay=1e-4), clip_grad=None)
crowdhuman_param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=crowdhuman_max_epochs, by_epoch=True, milestones=[40], gamma=0.1),
]

# FCOS, POTO and POTO+3DMF+Aux, as DeFCN's playground/detection/crowdhuman/*.800size.30k configs (whose
# published numbers the paper's rows match): the MSRA caffe R50 (BGR, std 1, frozen BN and first stage),
# SGD lr 0.01 for 16 images (momentum 0.9, weight decay 1e-4, none on norms, no clipping), 1000-iteration
# linear warm-up from 0.001, 30k iterations with steps at 20k and 25k (32 epochs of the 15000 training
# images), shorter side 800 (longer <= 1400) in training and testing, 1000 candidates per level and 500
# detections per image.
defcn_crowdhuman_data_preprocessor = dict(mean=[103.53, 116.28, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False)
defcn_crowdhuman_backbone = dict(style='caffe', norm_cfg=dict(type='BN', requires_grad=False), norm_eval=True,
                                 frozen_stages=1,
                                 init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe'))
defcn_crowdhuman_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1400, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
defcn_crowdhuman_train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    dataset=dict(_delete_=True, type='CrowdHumanDataset', data_root=crowdhuman_root,
                 ann_file='annotation_train.odgt', data_prefix=dict(img='Images/'),
                 pipeline=defcn_crowdhuman_train_pipeline))
defcn_crowdhuman_test_cfg = dict(nms_pre=1000, max_per_img=500)
defcn_crowdhuman_max_iters = 30000
defcn_crowdhuman_max_epochs = 32  # 30000 iterations x 16 images / 15000 images
defcn_crowdhuman_optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                                      optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
                                      paramwise_cfg=dict(norm_decay_mult=0.0), clip_grad=None)
defcn_crowdhuman_param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=defcn_crowdhuman_max_iters, by_epoch=False, milestones=[20000, 25000],
         gamma=0.1),
]
