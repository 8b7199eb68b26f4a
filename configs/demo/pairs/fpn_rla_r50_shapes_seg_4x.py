# The RLA-ResNet-50 twin of the kit's 2800-iteration Semantic FPN demo pair
# (--demo seg-4x): fpn_r50_shapes_seg_4x.py with the backbone of
# ../fpn_rla_r50_shapes_seg.py, all else identical.
_base_ = './fpn_r50_shapes_seg_4x.py'
model = dict(backbone=dict(type='RLAResNet', rla_channels=32))
