# ECA-RLA-MobileNetV2 on ImageNet with the authors' light recipe: ECA kernel
# size 1 in the layers of fewer than 96 channels, 3 in the others; its plain
# twin is mobilenetv2_1xb96_in1k.py. Released weights:
# dsrla_mobilenetv2_k32_eca (top-1 error 27.07).
_base_ = ['./rla_mobilenetv2_1xb96_in1k.py']
model = dict(backbone=dict(eca_kernel_sizes=(1, 1, 1, 1, 3, 3, 3)))
