# One-to-few on FCOS, R50-FPN 1x (Tables 2-5 "Ours-3convs"). Defaults follow the authors' code;
# see docs/fidelity.md for each point where it differs from the paper's text.
_base_ = '../fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py'

model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(style='pytorch', norm_cfg=dict(type='BN', requires_grad=True),
                  init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    bbox_head=dict(
        _delete_=True, type='O2FHead', num_classes=80, in_channels=256, stacked_convs=4, feat_channels=256,
        strides=[8, 16, 32, 64, 128], conv_bias=True,
        num_obj_convs=3, obj_channels=64,                     # Table 5: Ours-1conv / 2convs / 3convs
        soft_label=dict(mode='dynamic', t_max=0.6, t_min=0.2, value=None),  # Eq. 3; Table 1: static (value) / hard
        ambiguous_weight=0.4,                                 # authors' code; the paper's Eq. 4 reads 1.0
        bbox_weighting='centerness',                          # authors' code; the paper's Eq. 5 is 'uniform'
        loss_cls=dict(type='SoftLabelFocalLoss', use_sigmoid=True, neg_alpha=0.75, gamma=2.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    # K counts the certain anchor too (K=7: 1 certain + 6 ambiguous), as in the authors' code;
    # topk_includes_certain=False reads the paper's "certain + K ambiguous".
    train_cfg=dict(assigner=dict(type='OneToFewAssigner', topk=7, topk_includes_certain=True, alpha=0.8,
                                 combine='multiply', center_radius=1.5)),
    test_cfg=dict(nms_pre=1000, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100,
                  nms_free=True))

# EpochToHeadHook: T of Eq. 3 follows the epoch; ScoreMapHook: Figure 6's maps after the first and last epoch.
custom_hooks = [dict(type='EpochToHeadHook'), dict(type='ScoreMapHook')]

optim_wrapper = dict(optimizer=dict(lr=0.01, momentum=0.9, weight_decay=1e-4),
                     paramwise_cfg=dict(_delete_=True, norm_decay_mult=0.), clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
