# Swin-T parts of the Table 7 configs, referenced there as {{_base_.swin_t_*}}.
swin_t_backbone = dict(
    _delete_=True, type='SwinTransformer', embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
    window_size=7, drop_path_rate=0.2, patch_norm=True, out_indices=(0, 1, 2, 3), convert_weights=True,
    init_cfg=dict(type='Pretrained', checkpoint='https://github.com/SwinTransformer/storage/releases/'
                  'download/v1.0.0/swin_tiny_patch4_window7_224.pth'))
swin_t_neck_in_channels = [96, 192, 384, 768]
# The paper's transformer optimiser: AdamW, lr 1e-4, weight decay 0.05.
swin_t_optim_wrapper = dict(
    _delete_=True, type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, custom_keys=dict(absolute_pos_embed=dict(decay_mult=0.0),
                                                              relative_position_bias_table=dict(decay_mult=0.0))))
