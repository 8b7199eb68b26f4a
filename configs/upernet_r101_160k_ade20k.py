# UPerNet on ADE20K 512x512, 160k iterations, ResNet-101 baseline: mmseg's
# recipe (upernet/upernet_r101_4xb4-160k_ade20k-512x512.py) with a plain
# ResNet-101 in place of ResNetV1c, so that its RLA twins differ from it in the
# backbone only.
_base_ = [
    'mmseg::upernet/upernet_r101_4xb4-160k_ade20k-512x512.py',
    './_base_/backbones/resnet_r101.py'
]
custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)
model = dict(pretrained=None, backbone={{_base_.resnet_backbone}})
# Keep the RNG state in checkpoints: a resumed run then draws the same
# random crops and flips as an uninterrupted one.
custom_hooks = [dict(type='RNGStateHook')]
