# RLA-ResNet-50 on ImageNet with the authors' recipe; its plain twin is
# r50_8xb32_in1k.py. Released weights: resnet50_rla_2283.pth.tar.
_base_ = [
    '../_base_/models/rla_resnet50_in1k.py',
    '../_base_/imagenet_authors_recipe.py'
]
