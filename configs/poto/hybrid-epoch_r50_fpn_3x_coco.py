# Hybrid-Epoch 3x: one-to-many until the first learning-rate step (epoch 24 of 36), then one-to-one.
_base_ = './poto_r50_fpn_3x_coco.py'

# On FCOS's head, so with its centerness (objectness) branch and the joint score, unlike plain POTO.
model = dict(bbox_head=dict(with_objectness=True),
             train_cfg=dict(early_assigner=dict(type='OneToManyAssigner', strategy='fcos'), switch_epoch=24))
