# MobileNetV2, MMPretrain's, with the authors' light recipe: the plain twin
# of rla_mobilenetv2_1xb96_in1k.py and eca_rla_mobilenetv2_1xb96_in1k.py.
_base_ = [
    'mmpretrain::_base_/models/mobilenet_v2_1x.py',
    '../_base_/imagenet_authors_light_recipe.py'
]
