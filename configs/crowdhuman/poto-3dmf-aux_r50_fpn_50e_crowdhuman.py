# Table 8, CrowdHuman: POTO + 3D Max Filtering + auxiliary ATSS loss.
_base_ = ['../poto/poto-3dmf-aux-atss_r50_fpn_1x_coco.py', '../_base_/crowdhuman.py']
scale_family = 'crowdhuman'

model = dict(bbox_head=dict(num_classes=1), test_cfg={{_base_.crowdhuman_test_cfg}})
train_dataloader = {{_base_.crowdhuman_train_dataloader}}
val_dataloader = {{_base_.crowdhuman_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.crowdhuman_val_evaluator}}
test_evaluator = val_evaluator
train_cfg = dict(max_epochs={{_base_.crowdhuman_max_epochs}})
optim_wrapper = {{_base_.crowdhuman_optim_wrapper}}
param_scheduler = {{_base_.crowdhuman_param_scheduler}}
