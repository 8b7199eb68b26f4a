# RLA-ResNet-50 image classification of the shapes demo, trained from
# scratch on a CPU in minutes: the ResNet-50 twin cls_r50_shapes.py with its
# backbone swapped (the keys merge into the twin's backbone: depth, norms,
# init) and the authors' classifier on top, as in
# ../_base_/models/rla_resnet50_in1k.py: the backbone also returns its final
# hidden state h, RLAClsNeck pools the last stage and ReLU(bn2(h)), and the
# same LinearClsHead reads both (2048 + 32 channels).
_base_ = './cls_r50_shapes.py'
rla_channels = 32
model = dict(
    backbone=dict(
        type='RLAResNet', rla_channels=rla_channels, return_hidden=True),
    neck=dict(type='RLAClsNeck', rla_channels=rla_channels),
    head=dict(in_channels=2048 + rla_channels))
