"""Test (and evaluate) a trained detector, segmentor or classifier (OpenMMLab
3.x command line).

Usage::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out PATH]
        [--show] [--show-dir DIR] [--wait-time SECONDS] [--tta]
        [--cfg-options KEY=VALUE ...] [--launcher {none,pytorch,slurm,mpi}]

CONFIG is an MMDetection, MMSegmentation or MMPretrain config (its
``default_scope``); ``--out`` keeps the predictions as that codebase's own
test tool does. A classifier's CHECKPOINT is loaded whole and strictly: an
MMPretrain checkpoint of it, or an authors' released ImageNet file as it is
(``resnet50_rla_2283.pth.tar``).

Multi-GPU: ``tools/dist_test.sh CONFIG CHECKPOINT GPUS``; Slurm:
``tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT``.
"""
import argparse
import sys
from pathlib import Path

from mmdet.utils import setup_cache_size_limit_of_dynamo

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rla_mm  # noqa: F401  (registers the backbones and checkpoint types)
from rla_lab.utils.cli import (add_runner_arguments, apply_output,
                               apply_test_time_aug, build_runner,
                               config_from_args, enable_visualization,
                               export_local_rank, is_classifier_config,
                               shutdown_distributed, write_test_metrics_once)
from rla_lab.utils.preflight import (empty_image_folders_message,
                                     find_empty_image_folders,
                                     find_missing_data_roots,
                                     missing_data_message)
from rla_mm.utils.checkpoint import CheckpointMismatchError, load_classifier


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a detector, segmentor or classifier')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    add_runner_arguments(
        parser,
        work_dir_help='the dir to save the evaluation metrics '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='keep the predictions for offline evaluation: detection, in '
        'this .pkl file; segmentation, as label-map PNGs in this folder')
    parser.add_argument(
        '--show', action='store_true', help='show the predictions')
    parser.add_argument(
        '--show-dir',
        help='save images painted with the predictions to this dir (inside '
        'work_dir/<timestamp>/ when relative)')
    parser.add_argument(
        '--wait-time',
        type=float,
        default=2,
        help='seconds each image is shown with --show')
    parser.add_argument(
        '--tta', action='store_true', help='test-time augmentation')
    args = parser.parse_args()
    export_local_rank(args.local_rank)
    return args


def main() -> None:
    args = parse_args()
    setup_cache_size_limit_of_dynamo()
    cfg = config_from_args(args)
    if args.out is not None:
        try:
            apply_output(cfg, args.out)
        except ValueError as error:
            raise SystemExit(str(error)) from None
    missing_data = find_missing_data_roots(cfg, ['test_dataloader'])
    if missing_data:
        raise SystemExit(missing_data_message(missing_data))
    empty = find_empty_image_folders(cfg, ['test_dataloader'])
    if empty:
        raise SystemExit(empty_image_folders_message(empty))
    # mmengine's load_from only warns about keys that do not fit.
    classifier = is_classifier_config(cfg)
    if not classifier:
        cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        enable_visualization(cfg, args.show, args.wait_time, args.show_dir)
    if args.tta:
        apply_test_time_aug(cfg)
    write_test_metrics_once(cfg)

    runner = build_runner(cfg)
    if classifier:
        try:
            load_classifier(runner.model, args.checkpoint)
        except CheckpointMismatchError as error:
            raise SystemExit(str(error)) from None
    runner.test()
    del runner  # its DDP model holds the process group (shutdown_distributed)
    shutdown_distributed()


if __name__ == '__main__':
    main()
