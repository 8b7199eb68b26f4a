# Mask R-CNN ResNet-50 on the synthetic shapes dataset, trained from scratch
# on a CPU in minutes: the baseline twin of mask_rcnn_rla_r50_shapes.py.
#
# It is the COCO config ../mask_rcnn_r50.py at a toy scale: images resized to
# 128x128 (they are rendered at 256x256, where painted predictions are
# legible), 4 classes, narrower heads, fewer proposals and sampled RoIs, and
# a short iteration-based schedule with AdamW. Write the data first with
#   python tools/misc/make_demo_dataset.py
_base_ = '../mask_rcnn_r50.py'

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
# rla_lab.demo.shapes.CATEGORIES, in order.
metainfo = dict(
    classes=('circle', 'triangle', 'square', 'star'),
    palette=[(220, 20, 60), (0, 120, 230), (250, 170, 30), (0, 160, 80)])
num_classes = 4
image_scale = (128, 128)
# Width of the FPN and of every head (256 on COCO): at this scale the heads
# cost more than the backbone, and 64 channels learn the 4 shapes as well
# as 128 do (box AP50 0.66 vs 0.64) in 60% of the time.
feat_channels = 64
max_iters = 500

model = dict(
    # No ImageNet weights offline: the backbone learns from scratch, so
    # nothing is frozen and BatchNorm learns its statistics.
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(out_channels=feat_channels),
    rpn_head=dict(in_channels=feat_channels, feat_channels=feat_channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=feat_channels),
        bbox_head=dict(
            in_channels=feat_channels,
            fc_out_channels=256,
            num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=feat_channels),
        mask_head=dict(
            in_channels=feat_channels,
            conv_out_channels=feat_channels,
            num_classes=num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=100),
        rcnn=dict(max_per_img=20)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
# Workers would only compete with the model for the few CPU cores.
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=max_iters)
# Warm-up, and a cosine decay over the whole run: it ends at
# train_cfg.max_iters (mmengine's default end), whatever that is set to.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=0, eta_min_ratio=0.1)
]
# From scratch and this short, AdamW reaches a given AP in about half the
# iterations SGD needs (box AP50 0.56 vs 0.44 after 400 of 800 iterations).
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(base_batch_size=4)

default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=10)
randomness = dict(seed=0)
