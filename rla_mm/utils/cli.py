"""Command-line plumbing shared by ``tools/train.py`` and ``tools/test.py``.

The tools keep MMDetection 3.x's command-line shape and semantics; the
config edits they make are small pure functions here so they can be tested
without building a runner.
"""
import argparse
import os
import os.path as osp
from copy import deepcopy
from datetime import timedelta
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmdet.registry import RUNNERS
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.runner import Runner

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')


def add_runner_arguments(parser: argparse.ArgumentParser,
                         work_dir_help: str) -> None:
    """Add ``--work-dir``, ``--cfg-options``, ``--launcher``, ``--local_rank``.
    """
    parser.add_argument('--work-dir', help=work_dir_help)
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, as key=value pairs merged into the '
        'config, e.g. model.backbone.init_cfg.checkpoint=PATH or '
        'train_dataloader.batch_size=4; a list is given as key="[a,b]" or '
        'key=a,b, nested tuples as key="[(a,b),(c,d)]" (quotes needed, no '
        'spaces).')
    parser.add_argument(
        '--launcher', choices=LAUNCHERS, default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank (torch >= 2.0) or
    # --local_rank (older); torchrun sets LOCAL_RANK in the environment.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def export_local_rank(local_rank: int) -> None:
    """Expose ``--local_rank`` as ``LOCAL_RANK`` unless the launcher set it.
    """
    os.environ.setdefault('LOCAL_RANK', str(local_rank))


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config file name without extension>``."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def load_config(config_path: str,
                cfg_options: Optional[dict] = None,
                launcher: str = 'none',
                work_dir: Optional[str] = None) -> Config:
    """Load a config and apply the options common to both tools.

    ``work_dir`` is taken from the command line, else from the config, else
    :func:`default_work_dir`.
    """
    cfg = Config.fromfile(config_path)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(config_path)
    return cfg


def enable_amp(cfg: Config) -> None:
    """Train with mixed precision through mmengine's ``AmpOptimWrapper``."""
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def enable_auto_scale_lr(cfg: Config) -> None:
    """Scale the lr by (total batch size / ``auto_scale_lr.base_batch_size``).

    Raises:
        ValueError: If the config does not say which batch size its lr is
            meant for.
    """
    auto_scale_lr = cfg.get('auto_scale_lr')
    if not isinstance(auto_scale_lr, dict) or \
            'base_batch_size' not in auto_scale_lr:
        raise ValueError(
            '--auto-scale-lr needs the batch size the config\'s lr was tuned '
            'for; add it to the config, e.g. auto_scale_lr = dict('
            'enable=False, base_batch_size=16) (16 = 8 GPUs x 2 images).')
    cfg.auto_scale_lr.enable = True


def apply_resume(cfg: Config, resume: Optional[str]) -> None:
    """Apply ``--resume``: ``'auto'`` (the flag alone) or a checkpoint path.

    ``'auto'`` resumes from the latest checkpoint in ``work_dir`` (training
    starts afresh when there is none); a path resumes from that file. Either
    overrides ``load_from``.
    """
    if resume is None:
        return
    cfg.resume = True
    cfg.load_from = None if resume == 'auto' else resume


def apply_test_time_aug(cfg: Config) -> None:
    """Wrap the model for test-time augmentation (``--tta``).

    Uses ``tta_model`` and ``tta_pipeline`` from the config; without them
    the test pipeline is run with and without a horizontal flip and the
    detections are merged by NMS (``DetTTAModel``).
    """
    if 'tta_model' not in cfg:
        cfg.tta_model = dict(
            type='DetTTAModel',
            tta_cfg=dict(
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:  # dataset wrappers
        dataset = dataset.dataset
    if 'tta_pipeline' not in cfg:
        pipeline = deepcopy(dataset.pipeline)
        last = pipeline[-1].get('type')
        if last != 'PackDetInputs':
            raise ValueError(
                f'--tta without tta_pipeline in the config expects the test '
                f'pipeline to end with PackDetInputs, got {last}; add a '
                f'tta_pipeline to the config.')
        # PackDetInputs' default meta_keys include the flip keys that
        # DetTTAModel needs to undo the flip; test pipelines often drop them.
        pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[
                dict(type='RandomFlip', prob=1.),
                dict(type='RandomFlip', prob=0.)
            ], [dict(type='PackDetInputs')]])
        cfg.tta_pipeline = pipeline
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    dataset.pipeline = cfg.tta_pipeline


def init_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work on machines without CUDA.

    mmengine 0.10.7's launchers call ``torch.cuda.set_device`` and its DDP
    wrapper passes ``device_ids``; both fail without CUDA. There, this starts
    the process group itself from torchrun's environment (the runner then
    finds it started) and wraps the model in DDP without device ids, keeping
    mmengine's defaults otherwise. A no-op with CUDA or other launchers.

    Raises:
        ValueError: If ``env_cfg.dist_cfg.backend`` is NCCL, which needs CUDA.
    """
    if cfg.launcher != 'pytorch' or torch.cuda.is_available() or \
            torch_dist.is_initialized():
        return
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'nccl')
    if backend == 'nccl':
        raise ValueError(
            'Distributed runs without CUDA need the gloo backend, not nccl: '
            'pass --cfg-options env_cfg.dist_cfg.backend=gloo.')
    if 'timeout' in dist_cfg:  # seconds, as mmengine's init_dist takes it
        dist_cfg['timeout'] = timedelta(seconds=dist_cfg['timeout'])
    torch_dist.init_process_group(backend=backend, **dist_cfg)
    if 'model_wrapper_cfg' not in cfg:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))


def build_runner(cfg: Config) -> Runner:
    """The runner of ``cfg`` (its ``runner_type`` if set), as mmdet builds
    it, after starting a CPU process group where one is needed."""
    init_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def shutdown_distributed() -> None:
    """Destroy the process group, if one was started, once the run is done.

    mmengine leaves it to interpreter exit, where gloo's threads can be torn
    down out of order: a 2-process CPU test run once aborted there
    ("terminate called without an active exception") after all its work
    was done. The barrier keeps a rank from leaving while another still
    communicates.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()
