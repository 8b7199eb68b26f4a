# RLA-ResNet-50 as a detection backbone, set up like mmdet's ResNet-50: stem
# and first stage frozen, BN statistics frozen, ImageNet weights from the
# authors' release. A detector config uses it as
#     _base_ = ['./<detector>_r50.py', './_base_/backbones/rla_r50.py']
#     model = dict(backbone={{_base_.rla_backbone}})
# (_delete_ drops every key of the baseline's ResNet backbone.)
rla_backbone = dict(
    _delete_=True,
    type='RLAResNet',
    depth=50,
    rla_channels=32,
    out_indices=(0, 1, 2, 3),
    frozen_stages=1,
    norm_cfg=dict(type='BN', requires_grad=True),
    norm_eval=True,
    init_cfg=dict(
        type='Pretrained',
        # The folder is $RLA_CHECKPOINT_DIR, else ./checkpoints.
        checkpoint='{{$RLA_CHECKPOINT_DIR:checkpoints}}'
        '/resnet50_rla_2283.pth.tar'))
