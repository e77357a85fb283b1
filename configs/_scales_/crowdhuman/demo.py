# CrowdHuman configs at the demo scale: the demo scale's model and schedule on the tree crowns written
# in CrowdHuman's layout (`o2f prepare-data odgt`), so mmdet's CrowdHumanDataset and the CrowdHuman
# metric run end to end on a CPU.
_base_ = '../demo.py'
metainfo = dict(classes=('tree', ))

train_dataloader = dict(dataset=dict(dataset=dict(
    _delete_=True, type='CrowdHumanDataset', metainfo=metainfo,
    ann_file='annotation_train.odgt', data_prefix=dict(img='Images/'), pipeline={{_base_.train_pipeline}})))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='CrowdHumanDataset', metainfo=metainfo,
    ann_file='annotation_val.odgt', data_prefix=dict(img='Images/'), test_mode=True,
    pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
