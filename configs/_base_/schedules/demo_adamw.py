# The optimiser and schedule of the demo pairs trained from scratch on a CPU
# (segmentation and classification): AdamW with gradients clipped, a
# 50-iteration warm-up, then a cosine decay over the whole run to 0.1x. The
# decay ends at train_cfg.max_iters (mmengine's default end), whatever a
# config or --cfg-options sets that to.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, eta_min_ratio=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
