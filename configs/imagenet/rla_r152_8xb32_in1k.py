# RLA-ResNet-152 on ImageNet with the authors' recipe (no released weights);
# its plain twin is r152_8xb32_in1k.py.
_base_ = ['./rla_r50_8xb32_in1k.py']
model = dict(backbone=dict(depth=152))
