# The RLA-ResNet-50 twin of the kit's half-width Semantic FPN demo pair
# (--demo seg-half): fpn_r50_half_shapes_seg.py of this folder with the
# backbone of ../fpn_rla_r50_half_shapes_seg.py, all else identical.
_base_ = './fpn_r50_half_shapes_seg.py'
model = dict(backbone=dict(type='RLAResNet', rla_channels=16))
