# One-to-few CondInst (Table 9 "Ours"), 1x: the one-to-few head of configs/o2f plus CondInst's controller;
# Eq. 1's centre region is centred on each mask's centroid, and the certain and ambiguous anchors all
# train the mask head (dice, weight 2, no cap on their number), with the auxiliary semantic loss on P3,
# as in the authors' E2ECondInstHead.
_base_ = './condinst_r50_fpn_1x_coco.py'

model = dict(
    bbox_head=dict(
        _delete_=True, type='O2FCondInstBboxHead', num_params=169, num_classes=80, in_channels=256,
        stacked_convs=4, feat_channels=256, strides=[8, 16, 32, 64, 128], conv_bias=True,
        num_obj_convs=3, obj_channels=64,
        soft_label=dict(mode='dynamic', t_max=0.6, t_min=0.2, value=None),
        ambiguous_weight=0.4, bbox_weighting='centerness',
        loss_cls=dict(type='SoftLabelFocalLoss', use_sigmoid=True, neg_alpha=0.75, gamma=2.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    mask_head=dict(max_masks_to_train=-1, loss_mask=dict(loss_weight=2.0), with_semantic=True),
    train_cfg=dict(assigner=dict(type='OneToFewAssigner', topk=7, topk_includes_certain=True, alpha=0.8,
                                 combine='multiply', center_radius=1.5)),
    test_cfg=dict(nms_free=True))

# EpochToHeadHook: T of Eq. 3 follows the epoch.
custom_hooks = [dict(type='EpochToHeadHook')]
