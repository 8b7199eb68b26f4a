# The Semantic FPN ResNet-50 demo at half width (stem and base channels 32:
# every conv of the backbone has half the channels of ResNet-50's), at about
# a third of its compute per iteration: the baseline twin of
# fpn_rla_r50_half_shapes_seg.py. All else is fpn_r50_shapes_seg.py's. What
# the pair measured: docs/paired_demo.md ("Half width").
_base_ = './fpn_r50_shapes_seg.py'
model = dict(
    backbone=dict(stem_channels=32, base_channels=32),
    neck=dict(in_channels=[128, 256, 512, 1024]))
