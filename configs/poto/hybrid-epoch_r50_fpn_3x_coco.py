# Hybrid-Epoch 3x: one-to-many until the first learning-rate step (epoch 24 of 36), then one-to-one.
_base_ = './poto_r50_fpn_3x_coco.py'

model = dict(train_cfg=dict(early_assigner=dict(type='OneToManyAssigner', mode='fcos'), switch_epoch=24))
