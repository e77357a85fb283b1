# POTO + 3D Max Filtering, 3x.
_base_ = './poto_r50_fpn_3x_coco.py'

model = dict(bbox_head=dict(objectness_module=dict(type='MaxFilter3D', levels=3, kernel=3, norm_groups=32)))
