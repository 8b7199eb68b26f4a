# ECA-RLA-ResNet-50 on ImageNet with the authors' recipe: ECA kernel sizes
# 5, 5, 5, 7 per stage; its plain twin is r50_8xb32_in1k.py.
# Released weights: ecanet50_rla_2215.pth.tar.
_base_ = ['./rla_r50_8xb32_in1k.py']
model = dict(backbone=dict(eca_kernel_sizes=(5, 5, 5, 7)))
