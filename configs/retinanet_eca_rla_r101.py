# RetinaNet with ECA-RLA-ResNet-101: the ResNet-101 baseline with its
# backbone swapped, every other setting identical.
_base_ = ['./retinanet_r101.py', './_base_/backbones/eca_rla_r101.py']
model = dict(backbone={{_base_.rla_backbone}})
