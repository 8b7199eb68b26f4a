# RLA-MobileNetV2 (rla_channels 32) on ImageNet with the authors' light
# recipe; its plain twin is mobilenetv2_1xb96_in1k.py. Released weights:
# dsrla_mobilenetv2_k32 (top-1 error 27.62).
_base_ = [
    '../_base_/models/rla_mobilenetv2_in1k.py',
    '../_base_/imagenet_authors_light_recipe.py'
]
