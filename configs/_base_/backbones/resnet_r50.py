# Plain ResNet-50 (7x7 stem) with torchvision's ImageNet weights: the
# baseline backbone of the segmentation pairs. mmseg's recipes use ResNetV1c
# (a deep stem with open-mmlab weights), which differs from RLA-ResNet-50 in
# more than RLA; this is mmseg's "R-50b". A baseline config uses it as
#     model = dict(pretrained=None, backbone={{_base_.resnet_backbone}})
resnet_backbone = dict(
    type='ResNet',
    depth=50,
    init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50'))
