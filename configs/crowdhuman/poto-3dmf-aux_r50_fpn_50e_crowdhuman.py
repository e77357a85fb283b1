# Table 8, CrowdHuman: POTO + 3D Max Filtering + auxiliary ATSS loss, with DeFCN's recipe of
# poto.res50.fpn.crowdhuman.800size.30k.3dmf.aux
# (the paper's row matches its published number): MSRA caffe R50, centre-sampling radius 0 (the whole box is
# the region), DeFCN's optimiser, schedule and image sizes.
_base_ = ['../poto/poto-3dmf-aux-atss_r50_fpn_1x_coco.py', '../_base_/crowdhuman.py']

model = dict(data_preprocessor={{_base_.defcn_crowdhuman_data_preprocessor}},
             backbone={{_base_.defcn_crowdhuman_backbone}},
             bbox_head=dict(num_classes=1), test_cfg={{_base_.defcn_crowdhuman_test_cfg}},
             train_cfg=dict(assigner=dict(center_radius=0.0)))
train_dataloader = {{_base_.defcn_crowdhuman_train_dataloader}}
val_dataloader = {{_base_.crowdhuman_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.crowdhuman_val_evaluator}}
test_evaluator = val_evaluator
train_cfg = dict(max_epochs={{_base_.defcn_crowdhuman_max_epochs}})
optim_wrapper = {{_base_.defcn_crowdhuman_optim_wrapper}}
param_scheduler = {{_base_.defcn_crowdhuman_param_scheduler}}
