# RLA-ResNet-101 on ImageNet with the authors' recipe; its plain twin is
# r101_8xb32_in1k.py. Released weights: resnet101_rla_2148.pth.tar.
_base_ = ['./rla_r50_8xb32_in1k.py']
model = dict(backbone=dict(depth=101))
