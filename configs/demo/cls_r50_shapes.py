# ResNet-50 image classification of the shapes demo (one shape per 32x32
# image, 4 classes), trained from scratch on a CPU in minutes: the baseline
# twin of cls_rla_r50_shapes.py, and the paper's ImageNet setting (a
# from-scratch backbone, pooled features, one linear layer) at toy scale.
# The images are rendered in memory when the datasets are built: no files.
_base_ = [
    'mmdet::_base_/default_runtime.py', '../_base_/schedules/demo_adamw.py'
]
custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)

num_classes = 4  # rla_mm.demo.shapes.CATEGORIES
max_iters = 400

model = dict(
    type='GAPClassifier',
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375]),
    backbone=dict(
        type='ResNet',
        depth=50,
        out_indices=(3, ),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None),
    num_classes=num_classes,
    in_channels=2048)

# 10000 train images: 400 iterations of 32 see each about 1.3 times.
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='ShapesClassificationDataset', split='train', num_images=10000))
val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='ShapesClassificationDataset', split='val', num_images=5000))
test_dataloader = val_dataloader
val_evaluator = dict(type='Top1Accuracy')
test_evaluator = val_evaluator

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# mmdet's hooks without its detection visualizer.
default_hooks = dict(
    _delete_=True,
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
custom_hooks = [dict(type='RNGStateHook')]
log_processor = dict(by_epoch=False, window_size=10)
randomness = dict(seed=0)
