# One-to-few CondInst, 3x: 36 epochs (steps 24, 33), multi-scale training with the shorter side in 640-800.
_base_ = ['./o2f-condinst_r50_fpn_1x_coco.py', '../_base_/condinst_3x.py']

train_dataloader = dict(dataset=dict(pipeline={{_base_.condinst_3x_train_pipeline}}))
train_cfg = dict(max_epochs={{_base_.ms_3x_max_epochs}})
param_scheduler = {{_base_.condinst_3x_param_scheduler}}
