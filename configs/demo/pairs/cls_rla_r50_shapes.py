# The RLA-ResNet-50 twin of the kit's classification demo pair (--demo
# cls): cls_r50_shapes.py of this folder with the model of
# ../cls_rla_r50_shapes.py (its backbone, neck and head input), all else
# identical.
_base_ = './cls_r50_shapes.py'
rla_channels = 32
model = dict(
    backbone=dict(
        type='RLAResNet', rla_channels=rla_channels, return_hidden=True),
    neck=dict(type='RLAClsNeck', rla_channels=rla_channels),
    head=dict(in_channels=2048 + rla_channels))
