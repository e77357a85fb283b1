# FCOS 3x: 36 epochs, steps at 24 and 33, multi-scale training (shorter side 640-800).
_base_ = ['./fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py', '../_base_/schedule_3x.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.ms_3x_train_pipeline}}))
train_cfg = dict(max_epochs={{_base_.ms_3x_max_epochs}})
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3.0, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end={{_base_.ms_3x_max_epochs}}, by_epoch=True,
         milestones={{_base_.ms_3x_milestones}}, gamma=0.1),
]
