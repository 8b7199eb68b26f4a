"""Fixtures of the tool tests: the tiny datasets and one trained run."""
from pathlib import Path

import pytest
import torch
from .tool_helpers import (RELEASED_CHECKPOINT, TOOLS, TrainedRun, run_tool,
                           write_config, write_seg_dataset,
                           write_shapes_dataset)


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp('shapes')
    write_shapes_dataset(root)
    return root


@pytest.fixture(scope='session')
def seg_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_seg_dataset(tmp_path_factory.mktemp('seg_shapes'))


@pytest.fixture(scope='session')
def mask_rcnn_run(tmp_path_factory: pytest.TempPathFactory,
                  shapes_root: Path) -> TrainedRun:
    """Train the tiny RLA-R50 Mask R-CNN for 2 iterations.

    Its config asks for the released ImageNet weights, which are absent;
    ``--cfg-options`` points the backbone at a stand-in file in that format
    (a ``state_dict`` of a fresh RLAResNet-50).
    """
    from rla_mm.models import RLAResNet
    run_dir = tmp_path_factory.mktemp('mask_rcnn')
    pretrained = run_dir / 'rla50_imagenet.pth.tar'
    torch.save(dict(state_dict=RLAResNet(depth=50).state_dict()), pretrained)
    config = write_config(
        run_dir / 'mask_rcnn_rla50_tiny.py',
        shapes_root,
        init_cfg=dict(type='Pretrained', checkpoint=RELEASED_CHECKPOINT))
    work_dir = run_dir / 'work_dir'
    override = f'model.backbone.init_cfg.checkpoint={pretrained}'
    train = ['python', TOOLS / 'train.py', config, '--work-dir', work_dir]
    run_tool(train + ['--cfg-options', override], cwd=run_dir)
    return TrainedRun(config, work_dir, work_dir / 'iter_2.pth')


@pytest.fixture(scope='session')
def seg_run(tmp_path_factory: pytest.TempPathFactory,
            seg_root: Path) -> TrainedRun:
    """Train the tiny RLA-R50 FCN (an mmseg config) for 3 iterations, with
    a checkpoint after 2 to resume from."""
    run_dir = tmp_path_factory.mktemp('fcn')
    config = write_config(
        run_dir / 'fcn_rla50_tiny.py', seg_root, model='fcn', iters=3,
        checkpoint_interval=2)
    work_dir = run_dir / 'work_dir'
    run_tool(['python', TOOLS / 'train.py', config, '--work-dir', work_dir],
             cwd=run_dir)
    return TrainedRun(config, work_dir, work_dir / 'iter_3.pth')
