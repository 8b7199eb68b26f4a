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


# The tool tests' models: RLA-R50 at 1/8 width (the tools' plumbing is what
# they check), with heads to match.
WIDTH = 8


@pytest.fixture(scope='session')
def mask_rcnn_run(tmp_path_factory: pytest.TempPathFactory,
                  shapes_root: Path) -> TrainedRun:
    """Train the tiny RLA-R50 Mask R-CNN for 6 iterations, a checkpoint
    every 2, with the shipped configs' ``RNGStateHook``: the one trained
    detector of the tool tests, and the uninterrupted run that a killed one
    must repeat.

    Its config asks for the released ImageNet weights, which are absent;
    ``--cfg-options`` points the backbone at a stand-in file in that format
    (a ``state_dict`` of a fresh RLAResNet-50 of the same width).
    """
    from rla_mm.models import RLAResNet
    run_dir = tmp_path_factory.mktemp('mask_rcnn')
    pretrained = run_dir / 'rla50_imagenet.pth.tar'
    torch.save(
        dict(state_dict=RLAResNet(depth=50, base_channels=WIDTH).state_dict()),
        pretrained)
    config = write_config(
        run_dir / 'mask_rcnn_rla50_tiny.py',
        shapes_root,
        iters=6,
        checkpoint_interval=2,
        width=WIDTH,
        init_cfg=dict(type='Pretrained', checkpoint=RELEASED_CHECKPOINT),
        extra="custom_hooks = [dict(type='RNGStateHook')]\n")
    work_dir = run_dir / 'work_dir'
    options = ('--cfg-options',
               f'model.backbone.init_cfg.checkpoint={pretrained}')
    run_tool(['python', TOOLS / 'train.py', config, '--work-dir', work_dir,
              *options], cwd=run_dir)
    return TrainedRun(config, work_dir, work_dir / 'iter_6.pth', options)


@pytest.fixture(scope='session')
def seg_run(tmp_path_factory: pytest.TempPathFactory,
            seg_root: Path) -> TrainedRun:
    """Train the tiny RLA-R50 FCN (an mmseg config) for 3 iterations, with
    a checkpoint after 2 to resume from."""
    run_dir = tmp_path_factory.mktemp('fcn')
    config = write_config(
        run_dir / 'fcn_rla50_tiny.py', seg_root, model='fcn', iters=3,
        checkpoint_interval=2, width=WIDTH)
    work_dir = run_dir / 'work_dir'
    run_tool(['python', TOOLS / 'train.py', config, '--work-dir', work_dir],
             cwd=run_dir)
    return TrainedRun(config, work_dir, work_dir / 'iter_3.pth')
