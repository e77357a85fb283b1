# o2f with ResNet-101 (Table 6), 1x.
_base_ = './o2f_r50_fpn_1x_coco.py'

model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
