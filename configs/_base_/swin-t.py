# Swin-T parts of the Table 7 configs, referenced there as {{_base_.swin_t_*}}: as the authors' Swin
# configs (strongwolf/o2f configs/swin_1x.py, swin_3x.py) set them for every method.
# The ImageNet weights expect RGB with ImageNet mean and std (not the caffe R50's BGR, std 1).
swin_t_data_preprocessor = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True)
# frozen_stages=1: the patch embedding and the first stage stay as pretrained.
swin_t_backbone = dict(
    _delete_=True, type='SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
    window_size=7, mlp_ratio=4, qkv_bias=True, qk_scale=None, drop_rate=0., attn_drop_rate=0.,
    drop_path_rate=0.2, patch_norm=True, out_indices=(0, 1, 2, 3), with_cp=False, frozen_stages=1,
    convert_weights=True,
    init_cfg=dict(type='Pretrained', checkpoint='https://github.com/SwinTransformer/storage/releases/'
                  'download/v1.0.0/swin_tiny_patch4_window7_224.pth'))
swin_t_neck_in_channels = [96, 192, 384, 768]
# AdamW, lr 1e-4, weight decay 0.05, no gradient clipping; no decay on the position embeddings and on
# parameters whose name holds `norm` (the backbone's LayerNorms; the head's GroupNorms, named `gn`, decay).
swin_t_optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05),
    paramwise_cfg=dict(custom_keys=dict(absolute_pos_embed=dict(decay_mult=0.0),
                                        relative_position_bias_table=dict(decay_mult=0.0),
                                        norm=dict(decay_mult=0.0))),
    clip_grad=None)
