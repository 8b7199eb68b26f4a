# ResNet-50 image classification of the shapes demo (one shape per 32x32
# image, 10 kinds), trained from scratch on a CPU in minutes: the baseline
# twin of cls_rla_r50_shapes.py, and the paper's ImageNet setting (a
# from-scratch backbone, pooled features, one linear layer) at toy scale.
# It is MMPretrain's ResNet-50 classifier, read by its CustomDataset from
# class folders and scored by its Accuracy (top-1, top-5); the test also
# counts the confusion matrix. Write the data first with
#   python tools/misc/make_demo_dataset.py --task cls
_base_ = [
    'mmpretrain::_base_/models/resnet50.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/schedules/demo_adamw.py'
]
custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)

data_root = 'data/demo_shapes_cls/'
# The shapes dataset this config reads (rla_lab/demo/config_dataset.py):
# its kind ('classes': one shape per image, in class folders), its folder,
# and the fields of rla_lab.demo.shapes.ShapesConfig it is drawn with (seed
# is the dataset's, not training's randomness.seed). tools/demo.py and
# tools/paper/run_pairs.py point every dataloader at its root and write it
# there when it is missing.
shapes_dataset = dict(
    kind='classes',
    root=data_root,
    num_train=10000,
    num_val=5000,
    image_size=32,
    min_objects=1,
    max_objects=1,
    min_radius=0.32,
    max_radius=0.48,
    min_visible=0.5,
    noise_std=6.0,
    seed=0)
num_classes = 10  # rla_lab.demo.shapes_cls.CLASSES, one folder each
max_iters = 400

model = dict(
    # From scratch: nothing frozen, BN statistics learnt.
    backbone=dict(
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False),
    head=dict(num_classes=num_classes))
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
# 10000 train images: 400 iterations of 32 see each about 1.3 times.
# Workers would only compete with the model for the few CPU cores.
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=pipeline))
val_dataloader = dict(
    batch_size=250,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = [val_evaluator, dict(type='ConfusionMatrix')]

train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    logger=dict(interval=10, log_metric_by_epoch=False),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
custom_hooks = [dict(type='RNGStateHook')]
log_processor = dict(by_epoch=False, window_size=10)
randomness = dict(seed=0)
