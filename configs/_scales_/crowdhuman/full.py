# CrowdHuman configs at the paper's scale: the configs as written, on the real dataset.
_base_ = '../full.py'
dataset_help = ('download CrowdHuman from https://www.crowdhuman.org/ into the crowdhuman data root of '
                'configs/pipeline.yaml '
                '(annotation_train.odgt, annotation_val.odgt and every image under Images/)')
