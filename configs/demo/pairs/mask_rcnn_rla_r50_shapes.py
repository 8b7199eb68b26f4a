# The RLA-ResNet-50 twin of the kit's Mask R-CNN demo pair (--demo det):
# mask_rcnn_r50_shapes.py of this folder with the backbone of
# ../mask_rcnn_rla_r50_shapes.py, all else identical.
_base_ = './mask_rcnn_r50_shapes.py'
model = dict(backbone=dict(type='RLAResNet', rla_channels=32))
