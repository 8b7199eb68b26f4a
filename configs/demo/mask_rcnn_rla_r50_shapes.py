# Mask R-CNN RLA-ResNet-50 on the synthetic shapes dataset, trained from
# scratch on a CPU in minutes (what `make demo` runs): the ResNet-50 twin
# mask_rcnn_r50_shapes.py with its backbone swapped, all else identical (the
# keys merge into the twin's backbone: depth, norms, frozen stages, init).
_base_ = './mask_rcnn_r50_shapes.py'
model = dict(backbone=dict(type='RLAResNet', rla_channels=32))
