# The authors' RLA-ResNet-50 ImageNet classifier from MMPretrain parts: the
# backbone also returns its final hidden state h, RLAClsNeck pools the last
# stage and ReLU(bn2(h)) and concatenates them (2048 + 32 channels), and the
# stock LinearClsHead holds the fc. Keys: backbone.*, neck.bn2.*, head.fc.*
# (the released files' bn2 and fc).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='RLAResNet',
        depth=50,
        rla_channels=32,
        out_indices=(3, ),
        return_hidden=True,
        frozen_stages=-1,
        norm_eval=False,
        # The authors' classifiers start every BN at weight 1.
        zero_init_residual=False),
    neck=dict(type='RLAClsNeck', rla_channels=32),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048 + 32,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
