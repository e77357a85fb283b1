# fcos with ResNet-101 (Table 6), 1x.
_base_ = './fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py'

model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron/resnet101_caffe')))
