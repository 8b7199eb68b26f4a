# UPerNet with RLA-ResNet-101: the baseline upernet_r101_160k_ade20k.py with
# its backbone swapped, every other setting identical.
_base_ = ['./upernet_r101_160k_ade20k.py', './_base_/backbones/rla_r101.py']
model = dict(backbone={{_base_.rla_backbone}})
