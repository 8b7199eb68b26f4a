# Mask R-CNN with RLA-ResNet-101: the ResNet-101 baseline with its
# backbone swapped, every other setting identical.
_base_ = ['./mask_rcnn_r101.py', './_base_/backbones/rla_r101.py']
model = dict(backbone={{_base_.rla_backbone}})
