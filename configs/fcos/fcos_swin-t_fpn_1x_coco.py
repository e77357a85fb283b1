# fcos with Swin-T (Table 7), 1x: AdamW lr 1e-4, weight decay 0.05.
_base_ = ['./fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py', '../_base_/swin-t.py']

model = dict(backbone={{_base_.swin_t_backbone}}, neck=dict(in_channels={{_base_.swin_t_neck_in_channels}}))
optim_wrapper = {{_base_.swin_t_optim_wrapper}}
