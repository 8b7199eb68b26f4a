from pathlib import Path

import pytest
from mmengine.config import Config

from rla_mm.utils.preflight import (RLA_RELEASE_URL, MissingCheckpoint,
                                    find_missing_checkpoints, is_local_path,
                                    missing_checkpoints_message)


@pytest.mark.parametrize('path, local', [
    ('checkpoints/resnet50_rla_2283.pth.tar', True),
    ('/abs/dir/w.pth', True),
    ('torchvision://resnet50', False),
    ('open-mmlab://resnet50_v1c', False),
    ('https://example.org/w.pth', False),
    ('s3://bucket/w.pth', False),
    ('cluster1:s3://bucket/w.pth', False),
])
def test_is_local_path(path, local):
    assert is_local_path(path) is local


def test_find_missing_checkpoints(tmp_path: Path):
    present = tmp_path / 'present.pth'
    present.write_bytes(b'')
    missing_file = str(tmp_path / 'missing.pth')
    model = Config(
        dict(
            model=dict(
                type='MaskRCNN',
                backbone=dict(
                    type='RLAResNet',
                    init_cfg=dict(type='Pretrained', checkpoint=missing_file)),
                neck=dict(
                    type='FPN',
                    init_cfg=dict(
                        type='Pretrained',
                        checkpoint='torchvision://resnet50')),
                roi_head=dict(
                    bbox_head=dict(init_cfg=[
                        dict(type='Normal', std=0.01),
                        dict(type='Pretrained', checkpoint=str(present)),
                        dict(type='Pretrained', checkpoint=missing_file),
                    ])),
                heads=[dict(init_cfg=None)]))).model
    assert find_missing_checkpoints(model) == [
        MissingCheckpoint('model.backbone.init_cfg.checkpoint', missing_file),
        MissingCheckpoint('model.roi_head.bbox_head.init_cfg.2.checkpoint',
                          missing_file),
    ]


def test_nothing_missing():
    model = dict(backbone=dict(type='RLAResNet', depth=50, init_cfg=None))
    assert find_missing_checkpoints(model) == []


def test_missing_checkpoints_message():
    message = missing_checkpoints_message([
        MissingCheckpoint('model.backbone.init_cfg.checkpoint',
                          'checkpoints/resnet50_rla_2283.pth.tar')
    ])
    assert 'resnet50_rla_2283.pth.tar' in message
    assert RLA_RELEASE_URL in message
    assert 'RLA_CHECKPOINT_DIR' in message
    assert '--cfg-options model.backbone.init_cfg.checkpoint=PATH' in message


def test_model_level_pretrained(tmp_path: Path):
    """mmseg's segmentors hand ``pretrained`` to the backbone; a backbone
    ``init_cfg`` that names weights wins, so only then is it not needed."""
    missing_file = str(tmp_path / 'missing.pth')
    segmentor = dict(
        type='EncoderDecoder',
        pretrained=missing_file,
        backbone=dict(type='RLAResNet', depth=50))
    assert find_missing_checkpoints(segmentor) == [
        MissingCheckpoint('model.pretrained', missing_file)
    ]
    segmentor['pretrained'] = 'open-mmlab://resnet50_v1c'
    assert find_missing_checkpoints(segmentor) == []
    present = tmp_path / 'rla.pth'
    present.write_bytes(b'')
    segmentor.update(
        pretrained=missing_file,
        backbone=dict(
            type='RLAResNet',
            init_cfg=dict(type='Pretrained', checkpoint=str(present))))
    assert find_missing_checkpoints(segmentor) == []
