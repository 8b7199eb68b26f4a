# Plain ResNet-101 with torchvision's ImageNet weights (see resnet_r50.py).
_base_ = './resnet_r50.py'
resnet_backbone = dict(
    depth=101,
    init_cfg=dict(checkpoint='torchvision://resnet101'))
