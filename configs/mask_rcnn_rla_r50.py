# Mask R-CNN with RLA-ResNet-50: the ResNet-50 baseline with its
# backbone swapped, every other setting identical.
_base_ = ['./mask_rcnn_r50.py', './_base_/backbones/rla_r50.py']
model = dict(backbone={{_base_.rla_backbone}})
