# DeepLabV3+ with dilated RLA-ResNet-50: the baseline
# deeplabv3plus_r50_d8_80k_cityscapes.py with its backbone swapped, every other
# setting identical.
_base_ = [
    './deeplabv3plus_r50_d8_80k_cityscapes.py',
    './_base_/backbones/rla_r50.py'
]
model = dict(backbone={{_base_.rla_backbone}})
