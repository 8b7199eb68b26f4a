# DeepLabV3+ (dilated, output stride 8) on Cityscapes 512x1024, 80k, ResNet-50
# baseline: mmseg's recipe
# (deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py) with a
# plain ResNet-50 in place of ResNetV1c, so that its RLA twins differ from it
# in the backbone only.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',  # noqa: E501
    './_base_/backbones/resnet_r50.py'
]
custom_imports = dict(imports=['rla_mm'], allow_failed_imports=False)
model = dict(pretrained=None, backbone={{_base_.resnet_backbone}})
# Keep the RNG state in checkpoints: a resumed run then draws the same
# random crops and flips as an uninterrupted one.
custom_hooks = [dict(type='RNGStateHook')]
