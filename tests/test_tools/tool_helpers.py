"""Helpers of the tool tests: tiny datasets (COCO format for mmdet, mmseg's
img_dir/ann_dir layout), tiny configs of both codebases and a runner for
the tools.

Everything is written under pytest's tmp dirs so the tests depend neither
on the demo data nor on the configs of the repository.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import pytest
import torch
from PIL import Image

from rla_lab.utils.runs import TOOLS_DIR

TOOLS = Path(TOOLS_DIR)
REPO_ROOT = TOOLS.parent
CLASSES = ('square', 'bar')
IMAGE_SIZE = 64

# (class index, x, y, w, h) per image: one or two axis-aligned boxes.
_OBJECTS = (
    ((0, 8, 8, 24, 24), (1, 36, 20, 20, 40)),
    ((1, 4, 30, 48, 16), ),
    ((0, 28, 4, 30, 30), (1, 6, 40, 40, 14)),
    ((0, 18, 18, 28, 28), ),
)
_COLORS = ((220, 40, 40), (40, 80, 220))


def _render(objects: Sequence[Tuple[int, ...]]) -> Tuple[np.ndarray, ...]:
    """An RGB image of ``objects`` on grey and its label map (0: none)."""
    pixels = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 128, np.uint8)
    labels = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for label, x, y, w, h in objects:
        pixels[y:y + h, x:x + w] = _COLORS[label]
        labels[y:y + h, x:x + w] = label + 1
    return pixels, labels


def write_shapes_dataset(root: Path) -> Path:
    """Write 4 images of coloured boxes and their COCO annotations.

    Returns:
        Path: The annotation file, ``root / 'annotations.json'``.
    """
    (root / 'images').mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id, objects in enumerate(_OBJECTS, start=1):
        pixels, _ = _render(objects)
        for label, x, y, w, h in objects:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=label + 1,
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=0,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
        file_name = f'{image_id:02d}.png'
        Image.fromarray(pixels).save(root / 'images' / file_name)
        images.append(
            dict(
                id=image_id,
                file_name=file_name,
                width=IMAGE_SIZE,
                height=IMAGE_SIZE))
    categories = [dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)]
    ann_file = root / 'annotations.json'
    ann_file.write_text(
        json.dumps(
            dict(
                images=images, annotations=annotations,
                categories=categories)))
    return ann_file


_BASES = {
    'mask_rcnn': 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
    'retinanet': 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
}

_HEADS = {
    # Fewer sampled RoIs and no score threshold: fast on CPU, and an
    # untrained model still returns detections to evaluate.
    # The heads' widths follow the backbone's (mmdet's at full width).
    'mask_rcnn':
    """
    rpn_head=dict(in_channels={neck}, feat_channels={neck}),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels={neck}),
        bbox_head=dict(
            num_classes=2, in_channels={neck}, fc_out_channels={fc}),
        mask_roi_extractor=dict(out_channels={neck}),
        mask_head=dict(
            num_classes=2, in_channels={neck}, conv_out_channels={neck})),
    train_cfg=dict(rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rcnn=dict(score_thr=0.0)),""",
    'retinanet':
    """
    bbox_head=dict(num_classes=2, in_channels={neck}, feat_channels={neck}),
    test_cfg=dict(score_thr=0.0),""",
}

_CONFIG = """\
_base_ = '{base}'
custom_imports = dict(imports={imports!r}, allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='RLAResNet',
        depth=50,
        frozen_stages=1,
        norm_eval=True,
        base_channels={base_channels},
        init_cfg={init_cfg!r}),
    neck=dict(in_channels={stage_channels!r}, out_channels={neck}),{heads}
)

with_mask = {with_mask}
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
    dict(type='Resize', scale=({size}, {size}), keep_ratio=True),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=({size}, {size}), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=with_mask),
    dict(type='PackDetInputs', meta_keys=(
        'img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
dataset = dict(
    type='CocoDataset',
    data_root='{data_root}',
    ann_file='annotations.json',
    data_prefix=dict(img='images/'),
    metainfo=dict(classes={classes!r}),
    filter_cfg=dict(filter_empty_gt=True, min_size=0),
)
train_dataloader = dict(
    batch_size={batch_size},
    num_workers=0,
    persistent_workers=False,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(**dataset, pipeline=train_pipeline),
)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = dict(
    _delete_=True,
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, test_mode=True, pipeline=test_pipeline),
)
test_evaluator = dict(
    type='CocoMetric',
    ann_file='{data_root}annotations.json',
    metric={metrics!r},
)

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters={iters})
optim_wrapper = dict(optimizer=dict(lr=0.01))
# A warmup whose state has to survive a resume.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval={checkpoint_interval}, by_epoch=False),
)
log_processor = dict(window_size=1, by_epoch=False)
randomness = dict(seed=0)
"""



def tool_env(**overrides: str) -> Dict[str, str]:
    """Environment for a tool subprocess.

    The repo is importable (configs import ``tests.test_tools.*`` modules
    through ``custom_imports``), ``python`` in the shell scripts is this
    interpreter, and each process computes on one thread: on the small
    shared machines that run the tests, more threads only contend.
    """
    env = dict(os.environ)
    paths = [str(REPO_ROOT), env.get('PYTHONPATH', '')]
    env['PYTHONPATH'] = os.pathsep.join(p for p in paths if p)
    env['PATH'] = os.pathsep.join(
        [str(Path(sys.executable).parent),
         env.get('PATH', '')])
    env['OMP_NUM_THREADS'] = '1'
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    env.update(overrides)
    return env


def dist_env() -> Dict[str, str]:
    """:func:`tool_env` with a free port for torchrun."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    return tool_env(PORT=str(port))


def _last_line(stdout: str, stderr: str) -> str:
    """The last line the run logged (mmengine logs each stage: iterations,
    checkpoints, validation), else the last it wrote."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    logged = [line for line in lines if ' - mmengine - ' in line]
    lines = logged or lines + stderr.splitlines()
    return lines[-1].strip() if lines else '(nothing)'


def _command_line(args: Sequence[Union[str, Path]]) -> str:
    return ' '.join(map(str, args))


def start_tool(args: List[Union[str, Path]], cwd: Path,
               env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """Start ``args`` (``python`` for the venv's interpreter)."""
    if args[0] == 'python':
        args = [sys.executable] + args[1:]
    return subprocess.Popen([str(a) for a in args],
                            cwd=cwd,
                            env=env or tool_env(),
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            text=True)


def _process_tree(root: int) -> List[int]:
    """``root`` and every process it started, from ``/proc``.

    torchrun starts each worker in a session of its own, so killing the
    launcher's process group would leave the workers running.
    """
    children: Dict[int, List[int]] = {}
    for stat in Path('/proc').glob('[0-9]*/stat'):
        try:
            # pid (comm) state ppid ...; comm may hold spaces.
            fields = stat.read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, queue = [], [root]
    while queue:
        pid = queue.pop()
        tree.append(pid)
        queue += children.get(pid, [])
    return tree


def kill_tool(proc: subprocess.Popen) -> Tuple[str, str]:
    """SIGKILL ``proc`` and every process it started, as a cancelled job
    or a lost machine would end them; return its output."""
    for pid in _process_tree(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return proc.communicate()


def run_tool(
        args: List[Union[str, Path]],
        cwd: Path,
        timeout: float = 300,
        check: bool = True,
        env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run ``args`` (``python`` for the venv's interpreter) and return it.

    A command that runs past ``timeout`` seconds is killed with every
    process it started, and the test fails naming the last line it wrote
    (the stage a hang stopped in: mmengine logs each checkpoint, validation
    and test). With ``check``, a non-zero exit fails the test with the
    output's tail.
    """
    proc = start_tool(args, cwd, env)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout, stderr = kill_tool(proc)
        pytest.fail(f'{_command_line(args)} hung: killed after {timeout} s. '
                    f'It stopped after: {_last_line(stdout, stderr)!r}\n'
                    f'{stdout[-2000:]}\n{stderr[-4000:]}')
    if check and proc.returncode != 0:
        pytest.fail(f'{_command_line(args)} exited with '
                    f'{proc.returncode}:\n{stdout[-3000:]}\n'
                    f'{stderr[-6000:]}')
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout,
                                       stderr)


def kill_after_checkpoint(args: List[Union[str, Path]], work_dir: Path,
                          checkpoint: str, final: str, env: Dict[str, str],
                          timeout: float) -> None:
    """Start a training and SIGKILL it, with every process it started, as
    soon as ``last_checkpoint`` names ``checkpoint`` (written after the
    file is whole); fail if it already saved ``final``."""
    proc = start_tool(args, work_dir.parent, env)
    last = work_dir / 'last_checkpoint'
    deadline = time.monotonic() + timeout
    while not (last.is_file() and last.read_text().endswith(checkpoint)):
        if proc.poll() is not None or time.monotonic() > deadline:
            stdout, stderr = kill_tool(proc)
            pytest.fail(f'{_command_line(args)} never saved {checkpoint} '
                        f'(exit {proc.returncode}); it stopped after: '
                        f'{_last_line(stdout, stderr)!r}\n{stderr[-4000:]}')
        time.sleep(0.05)
    kill_tool(proc)
    assert not (work_dir / final).exists(), \
        f'the run saved {final} before the kill: nothing was interrupted'


def assert_same_weights(expected: Path, got: Path) -> None:
    """The two checkpoints hold bit-identical model weights."""
    a, b = (torch.load(p, map_location='cpu', weights_only=True)['state_dict']
            for p in (expected, got))
    assert a.keys() == b.keys()
    differ = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differ, f'{len(differ)} tensors differ: {differ[:5]}'


# Where the RLA configs look for the released ImageNet weights; the tests
# run in a fresh folder, so this relative path never exists there.
RELEASED_CHECKPOINT = 'checkpoints/resnet50_rla_2283.pth.tar'


class TrainedRun(NamedTuple):
    """A finished ``tools/train.py`` run: its config, work dir, last
    checkpoint and the options it was trained with."""
    config: Path
    work_dir: Path
    checkpoint: Path
    options: Tuple[str, ...] = ()


def write_seg_dataset(root: Path) -> Path:
    """Write the 4 images with their label maps in mmseg's standard layout.

    ``img_dir/<name>.png`` and ``ann_dir/<name>.png`` (0 background, 1
    square, 2 bar), read by mmseg's ``BaseSegDataset``.

    Returns:
        Path: ``root``.
    """
    for folder in ('img_dir', 'ann_dir'):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for index, objects in enumerate(_OBJECTS, start=1):
        pixels, labels = _render(objects)
        Image.fromarray(pixels).save(root / 'img_dir' / f'{index:02d}.png')
        Image.fromarray(labels).save(root / 'ann_dir' / f'{index:02d}.png')
    return root


SEG_CLASSES = ('background', ) + CLASSES

# The segmentors, written with the ``backbone``, ``head`` and ``fcn_head``
# settings of the config below: a plain backbone under an FCN head, and
# mmseg's dilated layout (output stride 8) under UPerNet.
SEG_MODELS = {
    'fcn': """
    backbone=backbone,
    decode_head=dict(fcn_head, in_channels={stage_channels[3]}, in_index=3),""",
    'upernet_d8': """
    backbone=dict(
        backbone,
        strides=(1, 2, 1, 1),
        dilations=(1, 1, 2, 4),
        contract_dilation=True),
    decode_head=dict(
        head,
        type='UPerHead',
        in_channels={stage_channels!r},
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6)),
    auxiliary_head=dict(
        fcn_head,
        in_channels={stage_channels[2]},
        in_index=2,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)),""",
}

_SEG_CONFIG = """\
_base_ = 'mmseg::_base_/default_runtime.py'
custom_imports = dict(imports={imports!r}, allow_failed_imports=False)

# BN, not SyncBN: the tests run on CPU.
norm_cfg = dict(type='BN', requires_grad=True)
backbone = dict(
    type='RLAResNet',
    depth=50,
    norm_cfg=norm_cfg,
    norm_eval=False,
    base_channels={base_channels},
    init_cfg={init_cfg!r})
head = dict(
    channels=16,
    dropout_ratio=0.0,
    num_classes={num_classes},
    norm_cfg=norm_cfg,
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
fcn_head = dict(head, type='FCNHead', num_convs=1, concat_input=False)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=({size}, {size})),{model}
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=({size}, {size}), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
dataset = dict(
    type='BaseSegDataset',
    data_root='{data_root}',
    data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
    img_suffix='.png',
    seg_map_suffix='.png',
    metainfo=dict(
        classes={classes!r},
        palette=[[128, 128, 128], [220, 40, 40], [40, 80, 220]]),
)
train_dataloader = dict(
    batch_size={batch_size},
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**dataset, pipeline=train_pipeline),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, test_mode=True, pipeline=test_pipeline),
)
test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_cfg = dict(type='TestLoop')

train_cfg = dict(type='IterBasedTrainLoop', max_iters={iters})
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005))
# A warmup whose state has to survive a resume.
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=10)
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=1, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False,
        interval={checkpoint_interval}),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
)
log_processor = dict(window_size=1, by_epoch=False)
randomness = dict(seed=0)
"""


def write_config(path: Path,
                 data_root: Path,
                 model: str = 'mask_rcnn',
                 iters: int = 2,
                 checkpoint_interval: int = 2,
                 batch_size: int = 1,
                 init_cfg: Optional[dict] = None,
                 imports: Sequence[str] = ('rla_mm', ),
                 width: int = 64,
                 extra: str = '') -> Path:
    """Write a tiny RLA-R50 config of ``model``.

    Args:
        path (Path): The config file to write.
        data_root (Path): Folder made by :func:`write_shapes_dataset` for
            the detectors, by :func:`write_seg_dataset` for the segmentors.
        model (str): A detector ('mask_rcnn' or 'retinanet', mmdet) or a
            key of :data:`SEG_MODELS` (mmseg).
        iters (int): Training iterations (``IterBasedTrainLoop``).
        checkpoint_interval (int): Iterations between checkpoints.
        batch_size (int): Training images per process.
        init_cfg (dict, optional): The backbone's ``init_cfg``.
        imports (Sequence[str]): Modules of ``custom_imports``.
        width (int): ``base_channels`` of the RLA-R50 (64: full width; the
            stages output 4, 8, 16 and 32 times as many channels).
        extra (str): Config text appended at the end.
    """
    common = dict(
        imports=list(imports),
        size=IMAGE_SIZE,
        batch_size=batch_size,
        iters=iters,
        checkpoint_interval=checkpoint_interval,
        base_channels=width)
    stage_channels = [width * 4 * 2**i for i in range(4)]
    if model in SEG_MODELS:
        text = _SEG_CONFIG.format(
            model=SEG_MODELS[model].format(stage_channels=stage_channels),
            init_cfg=init_cfg,
            num_classes=len(SEG_CLASSES),
            data_root=data_root.as_posix(),
            classes=SEG_CLASSES,
            **common)
    else:
        with_mask = model == 'mask_rcnn'
        text = _CONFIG.format(
            base=_BASES[model],
            stage_channels=stage_channels,
            neck=width * 4,
            init_cfg=init_cfg,
            heads=_HEADS[model].format(neck=width * 4, fc=width * 16),
            with_mask=with_mask,
            data_root=f'{data_root.as_posix()}/',
            classes=CLASSES,
            metrics=['bbox', 'segm'] if with_mask else ['bbox'],
            **common)
    path.write_text(text + extra)
    return path
