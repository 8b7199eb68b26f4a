# RLA-ResNet-50 with the authors' ImageNet weights. A config swaps its
# plain-ResNet baseline's backbone for it as
#     _base_ = ['./<model>_r50<...>.py', './_base_/backbones/rla_r50.py']
#     model = dict(backbone={{_base_.rla_backbone}})
# These keys merge into the baseline's ResNet backbone, so the RLA twin keeps
# every setting of its task (frozen_stages, norm_cfg, norm_eval, strides,
# dilations, contract_dilation, out_indices) and differs in the backbone only.
rla_backbone = dict(
    type='RLAResNet',
    depth=50,
    rla_channels=32,
    init_cfg=dict(
        type='Pretrained',
        # The folder is $RLA_CHECKPOINT_DIR, else ./checkpoints.
        checkpoint='{{$RLA_CHECKPOINT_DIR:checkpoints}}'
        '/resnet50_rla_2283.pth.tar'))
