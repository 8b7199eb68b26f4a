# The RLA-ResNet-50 twin of the kit's Semantic FPN demo pair on 1600 train
# images (--demo seg-train1600): fpn_r50_shapes_seg_train1600.py with the
# backbone of ../fpn_rla_r50_shapes_seg.py, all else identical.
_base_ = './fpn_r50_shapes_seg_train1600.py'
model = dict(backbone=dict(type='RLAResNet', rla_channels=32))
