# RLA-ResNeXt-101 (32x4d) on ImageNet with the authors' recipe (no released
# weights); its plain twin is x101_32x4d_8xb32_in1k.py.
_base_ = ['./rla_r101_8xb32_in1k.py']
model = dict(backbone=dict(groups=32, base_width=4))
