# Semantic FPN RLA-ResNet-50 on the label maps of the synthetic shapes
# dataset, trained from scratch on a CPU in minutes (`make demo-seg`): the
# ResNet-50 twin fpn_r50_shapes_seg.py with its backbone swapped, all else
# identical (the keys merge into the twin's backbone: depth, norms, init).
_base_ = './fpn_r50_shapes_seg.py'
model = dict(backbone=dict(type='RLAResNet', rla_channels=32))
