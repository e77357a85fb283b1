# POTO 3x: one-to-few's 3x schedule (36 epochs, multi-scale) with POTO's head and assignment
# (no objectness branch, as in DeFCN's plain POTO).
_base_ = '../o2f/o2f_r50_fpn_3x_coco.py'

model = dict(
    bbox_head=dict(type='POTOHead', with_objectness=False, num_obj_convs=0, bbox_weighting='uniform',
                   loss_cls=dict(type='JointFocalLoss', use_sigmoid=True, neg_alpha=0.75, gamma=2.0)),
    train_cfg=dict(assigner=dict(_delete_=True, type='POTOAssigner', alpha=0.8, center_radius=1.5)))

# EpochToHeadHook for Hybrid-Epoch's switch; no ScoreMapHook (Figure 6 draws one-to-few's joint score).
custom_hooks = [dict(type='EpochToHeadHook')]
