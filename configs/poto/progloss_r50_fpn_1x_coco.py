# ProgLoss (YOLO26's schedule) on POTO+3DMF with the ATSS auxiliary loss: the auxiliary (one-to-many) loss
# weight falls linearly from 0.8 to 0.1 over the training's iterations while the one-to-one (POTO) losses'
# weight rises from 0.2 to 0.9 (o2f/models/loss_schedule.py). Beyond the paper: beside Hybrid-Epoch.
_base_ = './poto-3dmf-aux-atss_r50_fpn_1x_coco.py'

model = dict(train_cfg=dict(progressive_loss=dict(aux=(0.8, 0.1), one_to_one=(0.2, 0.9))))
