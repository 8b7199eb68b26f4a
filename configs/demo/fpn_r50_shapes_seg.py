# Semantic FPN ResNet-50 on the label maps of the synthetic shapes dataset,
# trained from scratch on a CPU in minutes: the baseline twin of
# fpn_rla_r50_shapes_seg.py.
#
# It is mmseg's Semantic FPN at a toy scale: a plain ResNet-50 (7x7 stem, as
# RLA-ResNet-50 has, where mmseg's ADE20K recipe uses the deep-stem V1c),
# images resized to 64x64 (they are rendered at 256x256 and scored there),
# background + 4 shape classes, a narrow neck and head, and a short
# iteration-based schedule with AdamW. Write the data first with
#   python tools/misc/make_demo_dataset.py
_base_ = [
    'mmseg::_base_/models/fpn_r50.py', 'mmseg::_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw.py'
]
custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)

data_root = 'data/demo_shapes/'
# The shapes dataset this config reads (rla_lab/demo/config_dataset.py):
# its kind ('scenes': several shapes per image, as COCO instances and label
# maps), its folder, and the fields of rla_lab.demo.shapes.ShapesConfig it
# is drawn with (seed is the dataset's, not training's randomness.seed).
# tools/demo.py and tools/paper/run_pairs.py point every dataloader at its
# root and write it there when it is missing.
shapes_dataset = dict(
    kind='scenes',
    root=data_root,
    num_train=400,
    num_val=50,
    image_size=256,
    min_objects=1,
    max_objects=4,
    min_radius=0.1,
    max_radius=0.25,
    min_visible=0.5,
    noise_std=6.0,
    seed=0)
# rla_lab.demo.shapes.SEG_CLASSES, in order: a label map's pixel value is
# the index of its class here.
metainfo = dict(
    classes=('background', 'circle', 'triangle', 'square', 'star'),
    palette=[(0, 0, 0), (220, 20, 60), (0, 120, 230), (250, 170, 30),
             (0, 160, 80)])
num_classes = 5
# What a few CPU minutes teach grows with the number of images seen more
# than with their size (unweighted loss, one seed): 700 iterations of 8
# images at 64x64 reached mIoU 40, 800 of 4 at 96x96 37 in 10% more time,
# 400 of 4 at 128x128 28 in 20% less.
image_scale = (64, 64)
# Width of the FPN and of the head (256 and 128 on ADE20K).
feat_channels = 64
max_iters = 700
norm_cfg = dict(type='BN', requires_grad=True)

model = dict(
    # No ImageNet weights offline: mmseg's model-level `pretrained` would
    # hand the V1c weights to the backbone.
    pretrained=None,
    data_preprocessor=dict(size=image_scale),
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        init_cfg=None),
    neck=dict(out_channels=feat_channels),
    decode_head=dict(
        in_channels=[feat_channels] * 4,
        channels=feat_channels,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        # About 1 / sqrt(pixel share) of each class in the train split
        # (background 86%, each shape 2.5-5%). Unweighted, the model calls
        # every shape a circle for hundreds of iterations (mIoU 40 instead
        # of 49 after 700).
        loss_decode=dict(class_weight=[0.2, 0.8, 1.1, 1.0, 1.1])))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# Workers would only compete with the model for the few CPU cores.
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='BaseSegDataset',
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(
            img_path='train', seg_map_path='annotations/semantic_train'),
        img_suffix='.png',
        seg_map_suffix='.png',
        reduce_zero_label=False,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='BaseSegDataset',
        data_root=data_root,
        metainfo=metainfo,
        data_prefix=dict(
            img_path='val', seg_map_path='annotations/semantic_val'),
        img_suffix='.png',
        seg_map_suffix='.png',
        reduce_zero_label=False,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
log_processor = dict(by_epoch=False, window_size=10)
randomness = dict(seed=0)
