# Hybrid-Epoch (H-DETR's scheme on FCOS, section 4.3): one branch, one-to-many (FCOS's positives)
# with loss weights {1, 0} before `switch_epoch`, one-to-one (POTO) with {0, 1} after.
# The paper does not give the switch; we switch at the first learning-rate step (epoch 8 of 12,
# 0-based), so the one-to-one phase gets the low-learning-rate epochs, as H-DETR's last epochs do.
_base_ = './poto_r50_fpn_1x_coco.py'

# On FCOS's head, so with its centerness (objectness) branch and the joint score, unlike plain POTO.
model = dict(bbox_head=dict(with_objectness=True),
             train_cfg=dict(early_assigner=dict(type='OneToManyAssigner', strategy='fcos'), switch_epoch=8))
