# The authors' ImageNet recipe (RLA-Net's train.py): 120 epochs of SGD with
# momentum 0.9, lr 0.1 at batch 256 (8 GPUs x 32), weight decay 1e-4, the lr
# divided by 10 every 30 epochs; RandomResizedCrop 224 and a horizontal flip
# to train; resize the short side to 256 and centre-crop 224 to evaluate,
# with PIL's bilinear resize as torchvision does. MMPretrain's ImageNet data
# layout under data/imagenet/ (train/, val/, meta/{train,val}.txt).
# The RLA classifiers and their plain twins inherit this file and differ in
# the model only.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow',
         interpolation='bilinear'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow',
         interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# SGD, lr 0.1, momentum 0.9, weight decay 1e-4 and auto_scale_lr with base
# batch 256 come from imagenet_bs256.py; the authors train 120 epochs.
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=1)
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)

# Keep every rank's RNG state in checkpoints, for exact resumes.
custom_hooks = [dict(type='RNGStateHook')]
