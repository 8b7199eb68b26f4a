"""Released checkpoints, on synthetic files in the released layouts.

The real files cannot be downloaded here, so the tests write files with the
keys and shapes the authors' code produces, spelt out below from that code
(the mmdet 2.x ``RLA_ResNet`` backbone and mmdet 2.x's FPN, RPNHead,
Shared2FCBBoxHead, FCNMaskHead and RetinaHead), independently of our
modules. Our configs must load them with no missing or unexpected key.
"""
import argparse
import hashlib
import os.path as osp
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Sequence, Tuple

import pytest
import torch

from rla_lab.utils.checkpoint_io import publish
from rla_lab.utils.runs import read_test_metrics
from tools.model_converters import rla_imagenet2mmdet, upgrade_mmdet2_detector

from .tool_helpers import REPO_ROOT, TOOLS, run_tool, write_config

Shapes = Dict[str, Tuple[int, ...]]
RLA_CHANNELS = 32
ECA_KERNEL_SIZES = (5, 5, 5, 7)
STAGE_BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
FPN_CHANNELS = 256
# The first classes of COCO, as mmdet 2.x stores them in meta['CLASSES'].
COCO_CLASSES = ('person', 'bicycle', 'car', 'motorcycle', 'airplane')


def _conv(shapes: Shapes, name: str, *shape: int, bias: bool = True) -> None:
    shapes[f'{name}.weight'] = shape
    if bias:
        shapes[f'{name}.bias'] = shape[:1]


def _bn(shapes: Shapes, name: str, channels: int) -> None:
    for key in ('weight', 'bias', 'running_mean', 'running_var'):
        shapes[f'{name}.{key}'] = (channels, )
    shapes[f'{name}.num_batches_tracked'] = ()


def released_backbone_shapes(depth: int, eca: bool) -> Shapes:
    """Keys and shapes of the authors' RLA-ResNet (no classifier)."""
    shapes: Shapes = {}
    _conv(shapes, 'conv1', 64, 3, 7, 7, bias=False)
    _bn(shapes, 'bn1', 64)
    inplanes = 64
    for s, num_blocks in enumerate(STAGE_BLOCKS[depth]):
        width = 64 * 2**s
        out = width * 4
        for j in range(num_blocks):
            block = f'stages.{s}.{j}'
            block_in = inplanes if j == 0 else out
            _conv(shapes, f'{block}.conv1', width, block_in + RLA_CHANNELS,
                  1, 1, bias=False)
            _bn(shapes, f'{block}.bn1', width)
            _conv(shapes, f'{block}.conv2', width, width, 3, 3, bias=False)
            _bn(shapes, f'{block}.bn2', width)
            _conv(shapes, f'{block}.conv3', out, width, 1, 1, bias=False)
            _bn(shapes, f'{block}.bn3', out)
            if j == 0:
                _conv(shapes, f'{block}.downsample.0', out, inplanes, 1, 1,
                      bias=False)
                _bn(shapes, f'{block}.downsample.1', out)
            if eca:
                shapes[f'{block}.eca.conv.weight'] = (1, 1,
                                                      ECA_KERNEL_SIZES[s])
            _bn(shapes, f'stage_bns.{s}.{j}', RLA_CHANNELS)
        _conv(shapes, f'conv_outs.{s}', RLA_CHANNELS, out, 1, 1, bias=False)
        _conv(shapes, f'recurrent_convs.{s}', RLA_CHANNELS, RLA_CHANNELS, 3,
              3, bias=False)
        inplanes = out
    return shapes


def released_imagenet_shapes(depth: int, eca: bool) -> Shapes:
    """The ImageNet model: the backbone, ``bn2`` on ``h``, and ``fc``."""
    shapes = released_backbone_shapes(depth, eca)
    _bn(shapes, 'bn2', RLA_CHANNELS)
    shapes['fc.weight'] = (1000, 2048 + RLA_CHANNELS)
    shapes['fc.bias'] = (1000, )
    return shapes


def mmdet2_detector_shapes(detector: str, depth: int, eca: bool,
                           num_classes: int = 80) -> Shapes:
    """Keys and shapes of an mmdet 2.x COCO 1x detector with RLA-ResNet."""
    shapes = {
        f'backbone.{k}': v
        for k, v in released_backbone_shapes(depth, eca).items()
    }
    stage_channels = (256, 512, 1024, 2048)
    if detector == 'retinanet':
        # start_level=1, add_extra_convs='on_input': P6 from C5.
        for i, channels in enumerate(stage_channels[1:]):
            _conv(shapes, f'neck.lateral_convs.{i}.conv', FPN_CHANNELS,
                  channels, 1, 1)
            _conv(shapes, f'neck.fpn_convs.{i}.conv', FPN_CHANNELS,
                  FPN_CHANNELS, 3, 3)
        _conv(shapes, 'neck.fpn_convs.3.conv', FPN_CHANNELS, 2048, 3, 3)
        _conv(shapes, 'neck.fpn_convs.4.conv', FPN_CHANNELS, FPN_CHANNELS, 3,
              3)
        for branch in ('cls_convs', 'reg_convs'):
            for i in range(4):
                _conv(shapes, f'bbox_head.{branch}.{i}.conv', FPN_CHANNELS,
                      FPN_CHANNELS, 3, 3)
        anchors = 9
        _conv(shapes, 'bbox_head.retina_cls', anchors * num_classes,
              FPN_CHANNELS, 3, 3)
        _conv(shapes, 'bbox_head.retina_reg', anchors * 4, FPN_CHANNELS, 3,
              3)
        return shapes
    for i, channels in enumerate(stage_channels):
        _conv(shapes, f'neck.lateral_convs.{i}.conv', FPN_CHANNELS, channels,
              1, 1)
        _conv(shapes, f'neck.fpn_convs.{i}.conv', FPN_CHANNELS, FPN_CHANNELS,
              3, 3)
    anchors = 3
    _conv(shapes, 'rpn_head.rpn_conv', FPN_CHANNELS, FPN_CHANNELS, 3, 3)
    _conv(shapes, 'rpn_head.rpn_cls', anchors, FPN_CHANNELS, 1, 1)
    _conv(shapes, 'rpn_head.rpn_reg', anchors * 4, FPN_CHANNELS, 1, 1)
    head = 'roi_head.bbox_head'
    _conv(shapes, f'{head}.shared_fcs.0', 1024, FPN_CHANNELS * 7 * 7)
    _conv(shapes, f'{head}.shared_fcs.1', 1024, 1024)
    _conv(shapes, f'{head}.fc_cls', num_classes + 1, 1024)
    _conv(shapes, f'{head}.fc_reg', num_classes * 4, 1024)
    if detector == 'mask_rcnn':
        head = 'roi_head.mask_head'
        for i in range(4):
            _conv(shapes, f'{head}.convs.{i}.conv', FPN_CHANNELS,
                  FPN_CHANNELS, 3, 3)
        # ConvTranspose2d weights are (in, out, k, k).
        _conv(shapes, f'{head}.upsample', FPN_CHANNELS, FPN_CHANNELS, 2, 2)
        _conv(shapes, f'{head}.conv_logits', num_classes, FPN_CHANNELS, 1, 1)
    return shapes


def make_state_dict(shapes: Shapes,
                    random: bool = False) -> 'OrderedDict[str, torch.Tensor]':
    """Tensors of ``shapes``: norms neutral, other weights zero or small
    random values. Like mmcv 1.x's saved state dicts, it carries
    ``_metadata``.

    The constant tensors are views of one value (``expand``): they load
    with the same shapes and values, and a full-width detector's file takes
    kilobytes instead of hundreds of megabytes in each test.
    """
    generator = torch.Generator().manual_seed(0)
    state_dict: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, shape in shapes.items():
        if key.endswith('num_batches_tracked'):
            state_dict[key] = torch.tensor(0)
        elif key.endswith('running_var'):
            state_dict[key] = torch.ones(1).expand(shape)
        elif random and len(shape) > 1:
            state_dict[key] = torch.randn(shape, generator=generator) * 0.01
        else:
            state_dict[key] = torch.zeros(1).expand(shape)
    state_dict._metadata = OrderedDict()
    return state_dict


def mmdet2_checkpoint(shapes: Shapes, classes: Sequence[str],
                      random: bool = False) -> dict:
    """An mmdet 2.x training checkpoint: ``meta`` as mmcv 1.x's runner and
    mmdet 2.x's ``train_detector`` write it, weights, SGD state."""
    state_dict = make_state_dict(shapes, random)
    meta = dict(
        env_info='sys.platform: linux\nPython: 3.7.10',
        config="model = dict(type='FasterRCNN')\n",
        seed=0,
        exp_name='faster_rcnn_r50rla_fpn_1x_coco.py',
        mmdet_version='2.11.0+a1b2c3d',
        CLASSES=tuple(classes),
        epoch=12,
        iter=87960,
        mmcv_version='1.3.1',
        time='Mon Jun  7 10:00:00 2021',
        hook_msgs=dict(last_ckpt='work_dirs/x/epoch_12.pth'))
    optimizer = dict(
        state={0: dict(momentum_buffer=torch.zeros(3))},
        param_groups=[
            dict(lr=0.0002, momentum=0.9, dampening=0, weight_decay=0.0001,
                 nesterov=False, initial_lr=0.02, params=[0])
        ])
    return dict(meta=meta, state_dict=state_dict, optimizer=optimizer)


def imagenet_checkpoint(depth: int, eca: bool) -> dict:
    """A released ImageNet snapshot: DataParallel keys, classifier,
    optimizer and training bookkeeping."""
    weights = make_state_dict(released_imagenet_shapes(depth, eca))
    return dict(
        epoch=100,
        arch='rla_resnet50_eca' if eca else 'rla_resnet50',
        state_dict=OrderedDict(
            (f'module.{k}', v) for k, v in weights.items()),
        best_acc1=torch.tensor(77.17),
        optimizer=dict(state={}, param_groups=[dict(lr=0.0, params=[])]))


def sha256_of(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def config_name(detector: str, depth: int, eca: bool) -> str:
    """e.g. 'mask_rcnn_eca_rla_r101'."""
    return f'{detector}_{"eca_" if eca else ""}rla_r{depth}'


RLA_CONFIGS = [(detector, depth, eca)
               for detector in ('faster_rcnn', 'retinanet', 'mask_rcnn')
               for depth in (50, 101) for eca in (False, True)]


@pytest.mark.parametrize('detector,depth,eca', RLA_CONFIGS)
def test_released_detector_layout_fits_our_configs(detector: str, depth: int,
                                                   eca: bool):
    """Every key of the 2.x layout loads strictly into our COCO model."""
    state_dict = make_state_dict(mmdet2_detector_shapes(detector, depth, eca))
    config = REPO_ROOT / 'configs' / f'{config_name(detector, depth, eca)}.py'
    upgrade_mmdet2_detector.check_fits(state_dict, str(config))


@pytest.mark.parametrize('legacy_format', [False, True])
def test_mmdet2_checkpoint_needs_no_unsafe_unpickling(tmp_path: Path,
                                                      legacy_format: bool):
    """meta, optimizer state and the state dict's _metadata all load with
    weights_only=True, also from the pre-1.6 serialization format."""
    checkpoint = mmdet2_checkpoint(
        mmdet2_detector_shapes('retinanet', 50, False), COCO_CLASSES)
    path = tmp_path / 'released.pth'
    torch.save(
        checkpoint, path, _use_new_zipfile_serialization=not legacy_format)
    loaded = torch.load(path, map_location='cpu', weights_only=True)
    assert loaded['meta'] == checkpoint['meta']
    assert list(loaded['state_dict']) == list(checkpoint['state_dict'])


def test_test_tool_evaluates_mmdet2_checkpoint(shapes_root: Path,
                                               tmp_path: Path):
    """tools/test.py reads a 2.x file as it is: no key warning, metrics."""
    config = write_config(tmp_path / 'mask_rcnn_rla50.py', shapes_root)
    checkpoint = tmp_path / 'mask_rcnn_r50rla_fpn_1x_coco_395.pth'
    torch.save(
        mmdet2_checkpoint(
            mmdet2_detector_shapes('mask_rcnn', 50, False, num_classes=2),
            ('square', 'bar'), random=True), checkpoint)
    work_dir = tmp_path / 'test_work_dir'
    proc = run_tool([
        'python', TOOLS / 'test.py', config, checkpoint, '--work-dir',
        work_dir
    ], cwd=tmp_path)
    log = proc.stdout + proc.stderr
    assert 'do not match exactly' not in log
    assert 'Loads checkpoint by local backend' in log
    metrics = read_test_metrics(work_dir)
    assert 0 <= metrics['coco/bbox_mAP'] <= 1
    assert 0 <= metrics['coco/segm_mAP'] <= 1


def test_upgrade_tool_writes_slim_mmdet3_file(tmp_path: Path, capsys):
    source = tmp_path / 'faster_rcnn_r50rla_fpn_1x_coco_388.pth'
    shapes = mmdet2_detector_shapes('faster_rcnn', 50, False)
    torch.save(mmdet2_checkpoint(shapes, COCO_CLASSES), source)
    # As a DataParallel-wrapped training might have saved it.
    checkpoint = torch.load(source, weights_only=True)
    checkpoint['state_dict'] = OrderedDict(
        (f'module.{k}', v) for k, v in checkpoint['state_dict'].items())
    torch.save(checkpoint, source)

    out = upgrade_mmdet2_detector.main([
        str(REPO_ROOT / 'configs' / 'faster_rcnn_rla_r50.py'),
        str(source),
        str(tmp_path / 'out' / 'faster_rcnn_rla_r50_coco.pth')
    ])
    assert osp.basename(out) == (
        f'faster_rcnn_rla_r50_coco-{sha256_of(out)[:8]}.pth')
    assert f'SHA-256 {sha256_of(out)[:8]}' in capsys.readouterr().out
    upgraded = torch.load(out, weights_only=True)
    assert set(upgraded) == {'meta', 'state_dict'}
    assert upgraded['meta']['dataset_meta'] == dict(
        classes=list(COCO_CLASSES))
    assert upgraded['meta']['source_mmdet_version'] == '2.11.0+a1b2c3d'
    assert set(upgraded['state_dict']) == set(shapes)


def test_upgrade_tool_lists_mismatched_keys(tmp_path: Path):
    shapes = mmdet2_detector_shapes('retinanet', 50, False)
    shapes['bbox_head.retina_cls.weight'] = (720, 256, 1, 1)
    shapes['bbox_head.conv_cls.weight'] = shapes.pop(
        'bbox_head.retina_reg.weight')
    source = tmp_path / 'retinanet.pth'
    torch.save(mmdet2_checkpoint(shapes, COCO_CLASSES), source)
    config = str(REPO_ROOT / 'configs' / 'retinanet_rla_r50.py')
    with pytest.raises(SystemExit) as error:
        upgrade_mmdet2_detector.main(
            [config, str(source), str(tmp_path / 'out.pth')])
    message = str(error.value)
    assert 'bbox_head.retina_reg.weight' in message  # missing
    assert 'bbox_head.conv_cls.weight' in message  # unexpected
    assert 'bbox_head.retina_cls.weight' in message  # shape
    assert not list(tmp_path.glob('out*.pth'))


@pytest.mark.parametrize('eca', [False, True])
def test_imagenet_tool_keeps_exactly_the_backbone(tmp_path: Path, eca: bool,
                                                  capsys):
    from rla_mm.models import RLAResNet
    source = tmp_path / ('ecanet50_rla_2215.pth.tar'
                         if eca else 'resnet50_rla_2283.pth.tar')
    torch.save(imagenet_checkpoint(50, eca), source)

    out = rla_imagenet2mmdet.main([str(source), str(tmp_path / 'rla_r50.pth')])
    printed = capsys.readouterr().out
    assert osp.basename(out) == f'rla_r50-{sha256_of(out)[:8]}.pth'
    assert f'SHA-256 {sha256_of(out)[:8]}' in printed
    assert "'module.'" in printed and 'fc.weight' in printed
    assert 'optimizer' in printed

    clean = torch.load(out, weights_only=True)
    assert set(clean) == {'state_dict', 'meta'}
    assert set(clean['state_dict']) == set(released_backbone_shapes(50, eca))
    expected = dict(
        type='RLAResNet', depth=50, rla_channels=RLA_CHANNELS,
        eca_kernel_sizes=list(ECA_KERNEL_SIZES) if eca else None)
    assert clean['meta']['arch'] == expected
    # The clean file is what init_cfg's strict loading accepts.
    model = RLAResNet(
        depth=50,
        eca_kernel_sizes=ECA_KERNEL_SIZES if eca else None,
        init_cfg=dict(type='Pretrained', checkpoint=out))
    model.init_weights()


def test_imagenet_tool_rejects_plain_resnet(tmp_path: Path):
    source = tmp_path / 'resnet50.pth'
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7),
                'layer1.0.conv1.weight': torch.zeros(64, 64, 1, 1)}, source)
    with pytest.raises(SystemExit, match='not an RLA-ResNet checkpoint'):
        rla_imagenet2mmdet.main([str(source), str(tmp_path / 'out.pth')])


def test_unsafe_pickle_needs_the_flag(tmp_path: Path):
    """A file holding arbitrary objects (here the training script's
    argparse.Namespace) is refused unless the user vouches for it."""
    checkpoint = imagenet_checkpoint(50, False)
    checkpoint['args'] = argparse.Namespace(lr=0.1)
    source = tmp_path / 'with_args.pth.tar'
    torch.save(checkpoint, source)
    out_file = str(tmp_path / 'rla_r50.pth')
    with pytest.raises(SystemExit, match='--trust-pickle'):
        rla_imagenet2mmdet.main([str(source), out_file])
    out = rla_imagenet2mmdet.main([str(source), out_file, '--trust-pickle'])
    assert 'args' not in torch.load(out, weights_only=True)


def test_published_name_is_the_hash_of_the_content(tmp_path: Path):
    """The name's suffix is the SHA-256 of the bytes written, and those
    bytes depend on the checkpoint alone, not on the name asked for."""
    checkpoint = dict(meta=dict(source='x'),
                      state_dict=OrderedDict(w=torch.arange(4.0)))
    first, digest = publish(checkpoint, str(tmp_path / 'a' / 'rla.pth'))
    second, same = publish(checkpoint, str(tmp_path / 'other_name.pth'))
    assert first == str(tmp_path / 'a' / f'rla-{digest[:8]}.pth')
    assert second == str(tmp_path / f'other_name-{digest[:8]}.pth')
    assert sha256_of(first) == sha256_of(second) == digest == same
    assert sorted(p.name for p in tmp_path.rglob('*.pth')) == sorted(
        [osp.basename(first), osp.basename(second)])
    loaded = torch.load(first, weights_only=True)
    assert loaded['meta'] == dict(source='x')
    torch.testing.assert_close(loaded['state_dict']['w'], torch.arange(4.0))
