# ECA-RLA-ResNet-152 on ImageNet with the authors' recipe: ECA kernel sizes
# 5, 5, 5, 7 per stage; its plain twin is r152_8xb32_in1k.py.
# No released weights.
_base_ = ['./rla_r152_8xb32_in1k.py']
model = dict(backbone=dict(eca_kernel_sizes=(5, 5, 5, 7)))
