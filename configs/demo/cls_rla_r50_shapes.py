# RLA-ResNet-50 image classification of the shapes demo, trained from
# scratch on a CPU in minutes: the ResNet-50 twin cls_r50_shapes.py with its
# backbone swapped, all else identical (the keys merge into the twin's
# backbone: depth, norms, init).
_base_ = './cls_r50_shapes.py'
model = dict(backbone=dict(type='RLAResNet', rla_channels=32))
