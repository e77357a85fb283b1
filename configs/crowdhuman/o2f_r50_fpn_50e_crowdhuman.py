# Table 8, CrowdHuman: one-to-few, K = 4, with the recipe of the authors' configs/crowdhuman.py.
_base_ = ['../o2f/o2f_r50_fpn_1x_coco.py', '../_base_/crowdhuman.py']

model = dict(bbox_head=dict(num_classes=1), test_cfg={{_base_.crowdhuman_test_cfg}},
             train_cfg=dict(assigner=dict(topk=4)))
train_dataloader = {{_base_.crowdhuman_train_dataloader}}
val_dataloader = {{_base_.crowdhuman_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.crowdhuman_val_evaluator}}
test_evaluator = val_evaluator
train_cfg = dict(max_epochs={{_base_.crowdhuman_max_epochs}})
optim_wrapper = {{_base_.crowdhuman_optim_wrapper}}
param_scheduler = {{_base_.crowdhuman_param_scheduler}}
