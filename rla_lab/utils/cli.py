"""Command-line plumbing shared by the tools.

``tools/train.py`` and ``tools/test.py`` keep MMDetection 3.x's command-line
shape and semantics, and take detection, segmentation and classification
configs alike; where the codebases differ (test-time augmentation, painted
and dumped predictions), the config's ``default_scope`` picks the
codebase's own way.
The config edits are small pure functions here so they can be tested
without building a runner.
"""
import argparse
import gc
import os
import os.path as osp
from copy import deepcopy
from datetime import timedelta
from typing import Any, Optional

import torch
import torch.distributed as torch_dist
from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmengine.config import Config, ConfigDict, DictAction
from mmengine.hooks import LoggerHook
from mmengine.registry import HOOKS
from mmengine.runner import Runner

from .checkpoint_io import (UNSAFE_FLAG, UnsafeCheckpointError,
                            load_checkpoint_file)
from .codebases import (CodebaseNotInstalledError, codebase_of, config_scope,
                        read_config, runner_registry)
from .preflight import innermost_dataset

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


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the model converters' ``out_file`` and ``--trust-pickle``."""
    parser.add_argument(
        'out_file',
        help='output path; the first 8 hex digits of its SHA-256 are '
        'appended to its stem')
    parser.add_argument(
        UNSAFE_FLAG, action='store_true',
        help='unpickle objects that weights-only loading refuses (can run '
        'code: only for files from a source you trust)')


def load_input_checkpoint(args: argparse.Namespace) -> Any:
    """Load a converter's ``in_file``, weights-only unless ``--trust-pickle``.

    Exits with the reason, without a traceback, when the file is missing or
    holds objects that weights-only loading refuses.
    """
    try:
        return load_checkpoint_file(args.in_file, args.trust_pickle)
    except (FileNotFoundError, UnsafeCheckpointError) as error:
        raise SystemExit(str(error)) from None


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

    Raises:
        CodebaseNotInstalledError: If the config's codebase (e.g. mmseg)
            is not installed, saying how to install it.
    """
    cfg = read_config(config_path)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = default_work_dir(config_path)
    return cfg


def config_from_args(args: argparse.Namespace) -> Config:
    """:func:`load_config` of a tool's parsed runner arguments.

    Exits with the reason, without a traceback, when the config file is
    missing or its codebase is not installed.
    """
    try:
        return load_config(args.config, args.cfg_options, args.launcher,
                           args.work_dir)
    except (CodebaseNotInstalledError, FileNotFoundError) as error:
        raise SystemExit(str(error)) from None


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


def is_classifier_config(cfg: Config) -> bool:
    """Whether ``cfg`` is an MMPretrain config (an image classifier)."""
    return codebase_of(cfg).scope == 'mmpretrain'


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


# Per codebase, for a config without tta_model / tta_pipeline: the TTA model,
# the packer its test pipeline ends with, and the flip probability of each
# pass. SegTTAModel keeps the ground truth of the first pass, so for mmseg
# that one is unflipped.
_TTA_DEFAULTS = {
    'mmdet': (dict(
        type='DetTTAModel',
        tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5),
                     max_per_img=100)), 'PackDetInputs', (1., 0.)),
    'mmseg': (dict(type='SegTTAModel'), 'PackSegInputs', (0., 1.)),
    'mmpretrain': (dict(type='AverageClsScoreTTA'), 'PackInputs', (0., 1.)),
}


def apply_test_time_aug(cfg: Config) -> None:
    """Wrap the model for test-time augmentation (``--tta``).

    Uses ``tta_model`` and ``tta_pipeline`` from the config; without them
    the test pipeline is run with and without a horizontal flip and the
    results are merged by the codebase's TTA model: detections by NMS
    (``DetTTAModel``), segmentation scores by their mean (``SegTTAModel``).

    Raises:
        ValueError: If a pipeline has to be made and the test pipeline does
            not end with the codebase's packer.
    """
    tta_model, packer, flip_probs = _TTA_DEFAULTS[codebase_of(cfg).scope]
    if 'tta_model' not in cfg:
        cfg.tta_model = tta_model
    dataset, _ = innermost_dataset(cfg.test_dataloader.dataset,
                                   'test_dataloader.dataset')
    if 'tta_pipeline' not in cfg:
        pipeline = deepcopy(dataset.pipeline)
        last = pipeline[-1].get('type')
        if last != packer:
            raise ValueError(
                f'--tta without tta_pipeline in the config expects the test '
                f'pipeline to end with {packer}, got {last}; add a '
                f'tta_pipeline to the config.')
        # The packers' default meta_keys include the flip keys needed to
        # undo the flip; test pipelines often drop them.
        pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[dict(type='RandomFlip', prob=p) for p in flip_probs],
                        [dict(type=packer)]])
        cfg.tta_pipeline = pipeline
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    dataset.pipeline = cfg.tta_pipeline


def enable_visualization(cfg: Config, show: bool, wait_time: float,
                         show_dir: Optional[str]) -> None:
    """Paint the test predictions (``--show``, ``--show-dir``).

    A relative ``show_dir`` is placed in the run's folder,
    ``work_dir/<timestamp>/``, for both codebases: mmdet's visualization
    hook does so itself; for mmseg, whose hook hands the images to the
    visualizer's backends, the local backend's image folder is pointed
    there. mmseg paints every test image, not every 50th. For mmpretrain,
    its hook paints every test image into ``show_dir`` as given.

    Raises:
        RuntimeError: If the config has no visualization hook.
    """
    scope = codebase_of(cfg).scope
    if scope == 'mmdet':
        trigger_visualization_hook(
            cfg,
            argparse.Namespace(
                show=show, wait_time=wait_time, show_dir=show_dir))
        return
    hook = cfg.default_hooks.get('visualization')
    if hook is None:
        hook_type = ('VisualizationHook'
                     if scope == 'mmpretrain' else 'SegVisualizationHook')
        raise RuntimeError(
            '--show and --show-dir need a visualization hook: add '
            "default_hooks = dict(visualization=dict("
            f"type='{hook_type}')) to the config.")
    if scope == 'mmpretrain':
        # MMPretrain's hook paints every image into out_dir as given.
        hook.update(enable=True, interval=1, show=show, wait_time=wait_time)
        if show_dir:
            hook.out_dir = show_dir
        return
    hook.update(draw=True, interval=1)
    if show:
        hook.update(show=True, wait_time=wait_time)
    if show_dir:
        backends = cfg.visualizer.setdefault('vis_backends', [])
        local = [b for b in backends if b.get('type') == 'LocalVisBackend']
        if not local:
            backends.append(dict(type='LocalVisBackend'))
            local = backends[-1:]
        # The backends write to <log dir>/vis_data/; an absolute path
        # stays as it is.
        for backend in local:
            backend.img_save_dir = osp.join('..', show_dir)


def apply_output(cfg: Config, out: str) -> None:
    """Keep the test predictions (``--out``), as the config's codebase does.

    Detection: all predictions in a pickle file (``DumpDetResults``).
    Classification: the same with mmengine's ``DumpResults``, as
    MMPretrain's test tool does. Segmentation: each predicted label map as a
    PNG in the folder ``out`` (``IoUMetric``'s ``output_dir``), next to the
    metrics.

    Raises:
        ValueError: If ``out`` is not a .pkl file for a detection or
            classification config, is one for a segmentation config, or the
            latter has no IoUMetric.
    """
    pickle_file = out.endswith(('.pkl', '.pickle'))
    evaluators = cfg.test_evaluator
    if not isinstance(evaluators, (list, tuple)):
        evaluators = [evaluators]
    dumpers = {'mmdet': 'DumpDetResults', 'mmpretrain': 'DumpResults'}
    scope = codebase_of(cfg).scope
    if scope in dumpers:
        if not pickle_file:
            raise ValueError(f'--out must name a .pkl or .pickle file for '
                             f'{codebase_of(cfg).title} config, got {out}.')
        cfg.test_evaluator = [
            *evaluators,
            dict(type=dumpers[scope], out_file_path=out)
        ]
        return
    if pickle_file:
        raise ValueError(
            f'--out names a folder for the predicted label maps (PNG) of a '
            f'segmentation config, got the pickle file {out}.')
    metrics = [e for e in evaluators if e.get('type') == 'IoUMetric']
    if not metrics:
        raise ValueError(
            '--out for a segmentation config needs an IoUMetric in '
            'test_evaluator, which writes the label maps.')
    for metric in metrics:
        metric.output_dir = out


def write_test_metrics_once(cfg: Config) -> None:
    """Have only the main process write the test metrics file.

    Swaps mmengine's ``LoggerHook`` in ``default_hooks.logger`` for
    :class:`~rla_mm.engine.MainProcessLoggerHook`, keeping its arguments.
    The type is resolved as the runner will build it, in the config's
    scope, so ``'LoggerHook'``, ``'mmengine.LoggerHook'`` and the class
    itself are swapped; a logger hook of any other class is left as it is.
    """
    logger = cfg.get('default_hooks', {}).get('logger')
    if logger is None:
        return
    hook_type = logger.get('type')
    if isinstance(hook_type, str):
        with HOOKS.switch_scope_and_registry(config_scope(cfg)) as registry:
            hook_type = registry.get(hook_type)
    if hook_type is LoggerHook:
        logger.type = 'MainProcessLoggerHook'


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
    """The runner of ``cfg`` (its ``runner_type`` if set, from the registry
    of the config's codebase), after starting a CPU process group where one
    is needed."""
    init_cpu_distributed(cfg)
    if 'runner_type' in cfg:
        return runner_registry(cfg).build(cfg)
    return Runner.from_cfg(cfg)


def shutdown_distributed() -> None:
    """Destroy the process group, if one was started, once the run is done.

    mmengine leaves it to interpreter exit, where gloo's threads can be torn
    down out of order: 2-process CPU runs have aborted there ("terminate
    called without an active exception", SIGABRT) after all their work was
    done. DDP's reducer keeps the group alive, so the caller drops its
    runner first; the collection here frees the wrapped model while Python
    is whole. The barrier keeps a rank from leaving while another still
    communicates.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        gc.collect()
        torch_dist.barrier()
        torch_dist.destroy_process_group()
