# ProgLoss 3x: the same per-iteration schedule over the 3x training (configs/poto/progloss_r50_fpn_1x_coco.py).
_base_ = './poto-3dmf-aux-atss_r50_fpn_3x_coco.py'

model = dict(train_cfg=dict(progressive_loss=dict(aux=(0.8, 0.1), one_to_one=(0.2, 0.9))))
