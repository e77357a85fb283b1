# fcos with ResNet-101 (Table 6), 3x: the MSRA caffe R101 of detectron2, the same family (and BGR
# mean, std 1) as the R50 base's weights.
_base_ = './fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_3x_coco.py'

model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained',
                                                    checkpoint='open-mmlab://detectron2/resnet101_caffe')))
