# CrowdHuman configs at the ci scale: the synthetic shapes as one class ("object") in CrowdHuman's layout.
_base_ = '../ci.py'
metainfo = dict(classes=('object', ))

model = dict(bbox_head=dict(num_classes=1))
train_dataloader = dict(dataset=dict(dataset=dict(
    _delete_=True, type='CrowdHumanDataset', metainfo=metainfo,
    ann_file='annotation_train.odgt', data_prefix=dict(img='Images/'), pipeline={{_base_.train_pipeline}})))
val_dataloader = dict(dataset=dict(
    _delete_=True, type='CrowdHumanDataset', metainfo=metainfo,
    ann_file='annotation_val.odgt', data_prefix=dict(img='Images/'), test_mode=True,
    pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
