# POTO + 3D Max Filtering, 3x.
_base_ = './poto_r50_fpn_3x_coco.py'

# The objectness ("filter") branch arrives here, with 3DMF: the joint score as in DeFCN's ...3dmf/fcos.py.
model = dict(bbox_head=dict(with_objectness=True,
                            objectness_module=dict(type='MaxFilter3D', levels=3, kernel=3, norm_groups=32)))
