# The authors' RLA-MobileNetV2 ImageNet classifier (dsrla_mobilenetv2_k32)
# from MMPretrain parts. The backbone ends as theirs does: conv2 (output 7)
# reads the last features and ReLU6(bn2(h)); then the stock average pooling
# and LinearClsHead (1280 -> 1000). Keys: backbone.* (the released files'
# top level), head.fc.* (their classifier.1.*). Their classifier.0, a
# dropout of 0.2 before the fc, has no stock place here; like MMPretrain's
# own MobileNetV2 (the plain twin), these configs train without it.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='RLAMobileNetV2',
        widen_factor=1.0,
        rla_channels=32,
        out_indices=(7, ),
        frozen_stages=-1,
        norm_eval=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1280,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
