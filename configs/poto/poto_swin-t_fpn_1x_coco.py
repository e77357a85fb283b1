# poto with Swin-T (Table 7), 1x: the authors' Swin settings (configs/_base_/swin-t.py).
_base_ = ['./poto_r50_fpn_1x_coco.py', '../_base_/swin-t.py']

model = dict(data_preprocessor={{_base_.swin_t_data_preprocessor}}, backbone={{_base_.swin_t_backbone}},
             neck=dict(in_channels={{_base_.swin_t_neck_in_channels}}))
optim_wrapper = {{_base_.swin_t_optim_wrapper}}
