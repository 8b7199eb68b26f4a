import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from rla_lab.utils.preflight import (RLA_RELEASE_URL, MissingCheckpoint,
                                     find_missing_checkpoints,
                                     find_missing_data_roots, is_local_path,
                                     missing_checkpoints_message,
                                     missing_data_message)
from rla_lab.utils.runs import TOOLS_DIR


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


def test_missing_dataset_folders_are_named_with_their_keys(tmp_path):
    present = tmp_path / 'coco'
    present.mkdir()
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(
            type='RepeatDataset', times=2,
            dataset=dict(data_root=str(tmp_path / 'ade')))),
        val_dataloader=dict(dataset=dict(data_root=str(present))),
        test_dataloader=dict(dataset=dict(data_root='s3://bucket/coco'))))
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader',
               'absent_dataloader')
    missing = find_missing_data_roots(cfg, loaders)
    assert missing == [('train_dataloader.dataset.dataset.data_root',
                        str(tmp_path / 'ade'))]
    message = missing_data_message(missing)
    assert str(tmp_path / 'ade') in message and '--cfg-options' in message


def test_every_dataset_inside_wrappers_is_checked(tmp_path):
    present, missing = str(tmp_path), str(tmp_path / 'missing')
    concat = dict(type='ConcatDataset', datasets=[
        dict(data_root=present),
        dict(type='ClassBalancedDataset', oversample_thr=1e-3,
             dataset=dict(data_root=missing))])
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(
            type='MultiImageMixDataset', pipeline=[],
            dataset=dict(type='RepeatDataset', times=2, dataset=concat))),
        val_dataloader=dict(dataset=dict(type='ConcatDataset', datasets=[
            dict(data_root=present), dict(data_root=missing)]))))
    assert find_missing_data_roots(
        cfg, ('train_dataloader', 'val_dataloader')) == [
            ('train_dataloader.dataset.dataset.dataset.datasets.1.dataset'
             '.data_root', missing),
            ('val_dataloader.dataset.datasets.1.data_root', missing),
    ]


@pytest.mark.parametrize('module', [
    'mmengine.dataset.dataset_wrapper', 'mmdet.datasets.dataset_wrappers',
    'mmseg.datasets.dataset_wrappers'])
def test_every_wrapper_wraps_through_a_followed_argument(module):
    """``leaf_datasets`` follows ``dataset=`` and ``datasets=``: the
    wrappers of mmengine, mmdet and mmseg take no other."""
    wrappers = [
        cls for _, cls in inspect.getmembers(
            importlib.import_module(module), inspect.isclass)
        if cls.__module__ == module]
    assert wrappers
    for cls in wrappers:
        arguments = set(inspect.signature(cls).parameters)
        assert arguments & {'dataset', 'datasets'}, cls


def test_test_tool_stops_on_a_missing_dataset(tmp_path):
    proc = subprocess.run(
        [sys.executable, f'{TOOLS_DIR}/test.py',
         f'{TOOLS_DIR}/../configs/upernet_rla_r50_160k_ade20k.py', 'x.pth'],
        capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert 'Dataset folders not found' in proc.stderr
    assert 'test_dataloader.dataset.data_root' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_train_tool_names_the_missing_imagenet_folder(tmp_path):
    """An ImageNet config run where data/imagenet/ is absent stops before
    anything is built, naming the folder."""
    proc = subprocess.run(
        [sys.executable, f'{TOOLS_DIR}/train.py',
         f'{TOOLS_DIR}/../configs/imagenet/rla_r50_8xb32_in1k.py'],
        capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert 'data/imagenet  (config key train_dataloader.dataset.data_root)' \
        in proc.stderr
    assert 'Traceback' not in proc.stderr
    assert not (tmp_path / 'work_dirs').exists()


@pytest.mark.parametrize('layout', ['no train folder', 'empty classes'])
def test_train_tool_names_an_image_folder_without_images(tmp_path, layout):
    """The classification demo config on a data root whose train folder is
    missing, or whose class folders hold no image: a message naming the
    folder and the key, before anything is built."""
    root = tmp_path / 'shapes_cls'
    (root / 'val' / 'circle').mkdir(parents=True)
    (root / 'val' / 'circle' / '0.png').write_bytes(b'')
    if layout == 'empty classes':
        (root / 'train' / 'circle').mkdir(parents=True)
        (root / 'train' / 'circle' / 'notes.txt').write_text('')
    proc = subprocess.run(
        [sys.executable, f'{TOOLS_DIR}/train.py',
         f'{TOOLS_DIR}/../configs/demo/cls_rla_r50_shapes.py',
         '--cfg-options', f'train_dataloader.dataset.data_root={root}',
         f'val_dataloader.dataset.data_root={root}'],
        capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    what = 'does not exist' if layout == 'no train folder' else \
        'holds no images'
    assert f'{root / "train"} {what}' in proc.stderr
    assert 'train_dataloader.dataset.data_prefix' in proc.stderr
    assert 'Traceback' not in proc.stderr
