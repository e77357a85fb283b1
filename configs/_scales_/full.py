# The paper's scale: the experiment configs as written (COCO, 8 GPUs x 2 images, 1x/3x).
scale_name = 'full'
