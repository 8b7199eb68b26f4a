# ResNet-101, MMPretrain's, with the authors' recipe: the plain twin of
# rla_r101_8xb32_in1k.py and eca_rla_r101_8xb32_in1k.py.
_base_ = [
    'mmpretrain::_base_/models/resnet101.py',
    '../_base_/imagenet_authors_recipe.py'
]
