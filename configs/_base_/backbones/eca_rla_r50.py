# ECA-RLA-ResNet-50: RLA-ResNet-50 with ECA in every block (the paper's
# kernel sizes per stage) and the authors' ECA-RLA ImageNet weights.
_base_ = './rla_r50.py'
rla_backbone = dict(
    eca_kernel_sizes=(5, 5, 5, 7),
    init_cfg=dict(checkpoint='{{$RLA_CHECKPOINT_DIR:checkpoints}}'
                  '/ecanet50_rla_2215.pth.tar'))
