# CondInst configs at the paper's scale: the configs as written, on COCO 2017 instance masks.
_base_ = '../full.py'
