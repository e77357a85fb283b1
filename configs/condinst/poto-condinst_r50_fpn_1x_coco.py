# POTO CondInst (Table 9), 1x: DeFCN's one-to-one assignment (Hungarian on Eq. 1, centre region on the
# mask centroid) on the same head; the one matched anchor per object trains the mask head. CondInst's box
# head has FCOS's centerness branch, so POTO here keeps it (objectness) and the joint score.
_base_ = './o2f-condinst_r50_fpn_1x_coco.py'

model = dict(
    bbox_head=dict(type='POTOCondInstBboxHead', with_objectness=True, num_obj_convs=0, bbox_weighting='uniform',
                   loss_cls=dict(type='JointFocalLoss', use_sigmoid=True, neg_alpha=0.75, gamma=2.0)),
    train_cfg=dict(assigner=dict(_delete_=True, type='POTOAssigner', alpha=0.8, center_radius=1.5)))
