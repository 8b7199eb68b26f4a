# Faster R-CNN with ECA-RLA-ResNet-101: the ResNet-101 baseline with its
# backbone swapped, every other setting identical.
_base_ = './faster_rcnn_r101.py'
model = dict(
    backbone=dict(
        _delete_=True,
        type='RLAResNet',
        depth=101,
        rla_channels=32,
        eca_kernel_sizes=(5, 5, 5, 7),
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained',
            # The folder is $RLA_CHECKPOINT_DIR, else ./checkpoints.
            checkpoint='{{$RLA_CHECKPOINT_DIR:checkpoints}}'
            '/ecanet101_rla_2100.pth.tar')))
