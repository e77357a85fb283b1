# poto-3dmf-aux with ResNet-101 (Table 6), 3x.
_base_ = './poto-3dmf-aux-atss_r50_fpn_3x_coco.py'

model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
