# Table 8, CrowdHuman: FCOS (one-to-many, evaluated with and without NMS), with DeFCN's recipe of
# fcos.res50.fpn.crowdhuman.800size.30k (the paper's row matches its published number): the caffe R50 and
# centre sampling (radius 1.5) of the FCOS base, DeFCN's optimiser, schedule and image sizes.
_base_ = ['../fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py', '../_base_/crowdhuman.py']

model = dict(bbox_head=dict(num_classes=1, center_sampling=True, center_sample_radius=1.5),
             test_cfg={{_base_.defcn_crowdhuman_test_cfg}})
train_dataloader = {{_base_.defcn_crowdhuman_train_dataloader}}
val_dataloader = {{_base_.crowdhuman_val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.crowdhuman_val_evaluator}}
test_evaluator = val_evaluator
train_cfg = dict(max_epochs={{_base_.defcn_crowdhuman_max_epochs}})
optim_wrapper = {{_base_.defcn_crowdhuman_optim_wrapper}}
param_scheduler = {{_base_.defcn_crowdhuman_param_scheduler}}
