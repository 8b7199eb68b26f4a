# ResNeXt-101 (32x4d), MMPretrain's, with the authors' recipe: the plain twin
# of rla_x101_32x4d_8xb32_in1k.py.
_base_ = [
    'mmpretrain::_base_/models/resnext101_32x4d.py',
    '../_base_/imagenet_authors_recipe.py'
]
