# RLA-ResNet-101: RLA-ResNet-50's settings at depth 101, with the authors'
# RLA-ResNet-101 ImageNet weights.
_base_ = './rla_r50.py'
rla_backbone = dict(
    depth=101,
    init_cfg=dict(checkpoint='{{$RLA_CHECKPOINT_DIR:checkpoints}}'
                  '/resnet101_rla_2148.pth.tar'))
