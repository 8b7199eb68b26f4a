# ECA-RLA-ResNet-101 on ImageNet with the authors' recipe: ECA kernel sizes
# 5, 5, 5, 7 per stage; its plain twin is r101_8xb32_in1k.py.
# Released weights: ecanet101_rla_2100.pth.tar.
_base_ = ['./rla_r101_8xb32_in1k.py']
model = dict(backbone=dict(eca_kernel_sizes=(5, 5, 5, 7)))
