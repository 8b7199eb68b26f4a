# UPerNet with ECA-RLA-ResNet-50: the baseline upernet_r50_160k_ade20k.py with
# its backbone swapped, every other setting identical.
_base_ = ['./upernet_r50_160k_ade20k.py', './_base_/backbones/eca_rla_r50.py']
model = dict(backbone={{_base_.rla_backbone}})
