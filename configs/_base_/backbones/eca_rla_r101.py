# ECA-RLA-ResNet-101: RLA-ResNet-101 with ECA in every block and the
# authors' ECA-RLA-ResNet-101 ImageNet weights.
_base_ = './rla_r101.py'
rla_backbone = dict(
    eca_kernel_sizes=(5, 5, 5, 7),
    init_cfg=dict(checkpoint='{{$RLA_CHECKPOINT_DIR:checkpoints}}'
                  '/ecanet101_rla_2100.pth.tar'))
