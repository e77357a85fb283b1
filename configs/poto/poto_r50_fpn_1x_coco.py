# POTO (DeFCN): prediction-aware one-to-one assignment by Hungarian matching (Table 5),
# on the same backbone, towers and schedule as one-to-few. Plain POTO has no objectness branch: the
# class score alone is matched, trained and ranked, as in DeFCN's poto.res50.fpn.coco.800size.3x_ms.
_base_ = '../o2f/o2f_r50_fpn_1x_coco.py'

model = dict(
    bbox_head=dict(type='POTOHead', with_objectness=False, num_obj_convs=0, bbox_weighting='uniform',
                   loss_cls=dict(type='JointFocalLoss', use_sigmoid=True, neg_alpha=0.75, gamma=2.0)),
    train_cfg=dict(assigner=dict(_delete_=True, type='POTOAssigner', alpha=0.8, center_radius=1.5)))

# EpochToHeadHook for Hybrid-Epoch's switch; no ScoreMapHook (Figure 6 draws one-to-few's joint score).
custom_hooks = [dict(type='EpochToHeadHook')]
