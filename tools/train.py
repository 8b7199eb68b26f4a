"""Train a detector, segmentor or classifier with an RLA backbone (OpenMMLab
3.x command line).

CONFIG is an MMDetection, MMSegmentation or MMPretrain config (its
``default_scope``).

Usage::

    python tools/train.py CONFIG [--work-dir DIR] [--amp] [--auto-scale-lr]
        [--resume [CHECKPOINT]] [--cfg-options KEY=VALUE ...]
        [--launcher {none,pytorch,slurm,mpi}]

Multi-GPU: ``tools/dist_train.sh CONFIG GPUS``; Slurm:
``tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR``.
"""
import argparse
import sys
from pathlib import Path

from mmdet.utils import setup_cache_size_limit_of_dynamo

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rla_mm  # noqa: F401  (registers the backbones and checkpoint types)
from rla_lab.utils.cli import (add_runner_arguments, apply_resume,
                               build_runner, config_from_args, enable_amp,
                               enable_auto_scale_lr, export_local_rank,
                               shutdown_distributed)
from rla_lab.utils.preflight import (empty_image_folders_message,
                                     find_empty_image_folders,
                                     find_missing_checkpoints,
                                     find_missing_data_roots,
                                     missing_checkpoints_message,
                                     missing_data_message)
from rla_lab.utils.work_dir import (damaged_resume_message,
                                    unwritable_work_dir_message)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a detector, segmentor or classifier')
    parser.add_argument('config', help='train config file path')
    add_runner_arguments(
        parser,
        work_dir_help='the dir to save logs and checkpoints '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed-precision training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the lr by the actual total batch size over '
        'auto_scale_lr.base_batch_size of the config')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from this checkpoint or, with no path, from the latest '
        'checkpoint in the work dir')
    args = parser.parse_args()
    export_local_rank(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    setup_cache_size_limit_of_dynamo()
    cfg = config_from_args(args)
    # Weight initialization runs on resume too, so the pretrained files are
    # needed either way; check them before anything heavy is built.
    missing = find_missing_checkpoints(cfg.model)
    if missing:
        raise SystemExit(missing_checkpoints_message(missing))
    loaders = ['train_dataloader']
    if cfg.get('val_cfg'):
        loaders.append('val_dataloader')
    missing_data = find_missing_data_roots(cfg, loaders)
    if missing_data:
        raise SystemExit(missing_data_message(missing_data))
    empty = find_empty_image_folders(cfg, loaders)
    if empty:
        raise SystemExit(empty_image_folders_message(empty))
    problem = unwritable_work_dir_message(cfg.work_dir)
    if problem is None and args.resume is not None:
        problem = damaged_resume_message(
            cfg.work_dir, None if args.resume == 'auto' else args.resume)
    if problem is not None:
        raise SystemExit(problem)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        enable_auto_scale_lr(cfg)
    apply_resume(cfg, args.resume)

    runner = build_runner(cfg)
    runner.train()
    del runner  # its DDP model holds the process group (shutdown_distributed)
    shutdown_distributed()


if __name__ == '__main__':
    main()
