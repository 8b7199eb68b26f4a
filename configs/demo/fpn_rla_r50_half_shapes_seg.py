# RLA-ResNet-50 at half width: the twin fpn_r50_half_shapes_seg.py with its
# backbone swapped, all else identical. The hidden state is halved with the
# rest (16 channels instead of the paper's 32), so that RLA's share of the
# network is that of the paper's RLA-ResNet-50.
_base_ = './fpn_r50_half_shapes_seg.py'
model = dict(backbone=dict(type='RLAResNet', rla_channels=16))
