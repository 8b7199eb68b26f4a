# Semantic FPN RLA-ResNet-50 on the label maps of the synthetic shapes
# dataset, trained from scratch on a CPU in minutes: the ResNet-50 twin
# fpn_r50_shapes_seg.py with its backbone swapped, all else identical.
_base_ = './fpn_r50_shapes_seg.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='RLAResNet',
        depth=50,
        rla_channels=32,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=None))
