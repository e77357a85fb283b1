# POTO + 3DMF + auxiliary one-to-many loss (fcos), 3x.
_base_ = './poto-3dmf_r50_fpn_3x_coco.py'

model = dict(
    bbox_head=dict(loss_aux=dict(type='JointFocalLoss', use_sigmoid=True, neg_alpha=0.75, gamma=2.0)),
    train_cfg=dict(aux_assigner=dict(type='OneToManyAssigner', strategy='fcos', topk=9)))
