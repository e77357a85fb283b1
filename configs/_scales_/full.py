# The paper's scale: the experiment configs as written (COCO, 8 GPUs x 2 images, 1x/3x).
dataset_help = ('download COCO 2017 into the coco data root of configs/pipeline.yaml '
                '(annotations/instances_{train,val}2017.json, train2017/ '
                'and val2017/), see https://cocodataset.org/#download')
precision = 'fp32'  # the paper's recipe; auto or bf16 train in bf16 autocast (o2f/engine/precision.py)
