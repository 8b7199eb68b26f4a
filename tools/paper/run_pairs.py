"""Train and test baseline/RLA pairs over seeds, with paired statistics.

For each chosen detector or segmentor and RLA backbone, the plain-ResNet
baseline config and its RLA twin (which differ only in the backbone) are
trained with ``tools/dist_train.sh`` (or Slurm, or a single process) and
tested with the matching test tool, once per seed (``randomness.seed``); a
baseline shared by two pairs is trained once per seed. The comparison goes
to ``<work-dir>/pairs.md`` and ``pairs.csv``: per metric (box AP ... mask AP
of COCO, mIoU / mAcc / aAcc of mmseg) each twin's mean and sd over seeds, the
mean paired delta (RLA minus baseline) with its Student-t interval, and the
paper's RLA value; every seed's values go to ``pairs_seeds.csv`` and the
training curves to ``pairs.png``.

Each run's config is built here, not on the tools' command lines: the
config file with ``--cfg-options`` merged and the seed set is dumped into
the run's folder as ``config.py``, and both tools are launched with that
file alone.

Resumable: each run keeps its state in ``<work-dir>/<config>/seed_<N>/``. A
finished run is not run again; an interrupted training resumes from its last
checkpoint. A run keeps the config it was started with: when the one asked
for now differs, the changed keys are reported. Delete a run's folder to
redo it.

Usage::

    python tools/paper/run_pairs.py [--detectors D ...] [--segmentors S ...]
        [--classifiers imagenet]
        [--backbones B ...] [--seeds N ...] [--confidence C]
        [--work-dir DIR] [--launcher {pytorch,slurm,none}] [--gpus N]
        [--partition P] [--cfg-options KEY=VALUE ...] [--dry-run]
    python tools/paper/run_pairs.py --demo [{seg,seg-half,seg-4x,
        seg-train1600,det,cls}] [--jobs N] [--couple-init] ...

Without ``--detectors``, ``--segmentors`` or ``--classifiers`` every
detection and segmentation pair runs; the ImageNet pairs run only when
named. ``--demo`` runs the kit on the generated shapes dataset with a demo
pair (``configs/demo/pairs/``), on CPU by default: the Semantic FPN pair
(``seg``, the default), at half width (``seg-half``), for 2800 iterations
(``seg-4x``) or on 1600 train images (``seg-train1600``), the Mask R-CNN
pair (``det``) or the classification pair (``cls``). Each config names its
dataset (``shapes_dataset``: folder and generator parameters), which is
written where it is missing; ``--cfg-options shapes_dataset.KEY=VALUE``
asks for another. The protocol is printed before any run starts.
"""
import argparse
import os
import os.path as osp
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Optional, Sequence

from mmengine.config import DictAction

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rla_lab.demo.config_dataset import DATASET_KEY
from rla_lab.paper.catalog import (CLASSIFIERS, DEMO_BACKBONE, DEMOS,
                                   DETECTORS, RLA_BACKBONES, SEGMENTORS)
from rla_lab.paper.kit import (LAUNCHERS, SEED_KEY, Launch, announce,
                               check_datasets, check_pretrained, find_job,
                               find_pairs, plan_jobs, prepare_datasets,
                               process_run, unique_runs, unreported_seeds,
                               write_coupled_init, write_report)
from rla_lab.paper.metafile import read_model_index
from rla_lab.utils.runs import REPO_ROOT

CONFIG_DIR = osp.join(REPO_ROOT, 'configs')
MODEL_INDEX = osp.join(REPO_ROOT, 'model-index.yml')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and test baseline/RLA pairs with identical '
        'settings over several seeds, and tabulate the paired difference '
        'with its confidence interval next to the paper\'s numbers.')
    parser.add_argument(
        '--detectors', nargs='+', choices=list(DETECTORS),
        help='COCO detectors to compare (default: all, unless only '
        '--segmentors is given)')
    parser.add_argument(
        '--segmentors', nargs='+', choices=list(SEGMENTORS),
        help='segmentors to compare: upernet (ADE20K, 160k), upernet_80k, '
        'fpn (Semantic FPN, ADE20K, 160k), deeplabv3plus (Cityscapes, 80k) '
        '(default: all, unless only --detectors is given)')
    parser.add_argument(
        '--classifiers', nargs='+', choices=list(CLASSIFIERS),
        help='ImageNet pairs (MMPretrain, 120 epochs): run only when named')
    parser.add_argument(
        '--backbones', nargs='+', choices=RLA_BACKBONES,
        help='RLA backbones, each compared with the ResNet of its depth '
        '(default: all that have configs)')
    parser.add_argument(
        '--seeds', nargs='+', type=int, default=[0], metavar='N',
        help=f'seeds to run each model with, set as {SEED_KEY} in its '
        'config; one run folder per seed (default: 0; an interval needs at '
        'least two)')
    parser.add_argument(
        '--confidence', type=float, default=0.95,
        help='coverage of the interval of the mean delta (default: '
        '%(default)s)')
    parser.add_argument(
        '--work-dir',
        help='where runs and results go (default: work_dirs/paper_pairs, '
        'or work_dirs/paper_pairs_demo with --demo)')
    parser.add_argument(
        '--launcher', choices=LAUNCHERS,
        help='pytorch: tools/dist_*.sh with --gpus processes; slurm: '
        'tools/slurm_*.sh on --partition; none: one process '
        '(default: pytorch, none with --demo)')
    parser.add_argument(
        '--gpus', type=int,
        help='GPUs per run (default: those of each config\'s batch: 8 x 2 '
        'images for the detectors, 4 x 4 or 4 x 2 for the segmentors)')
    parser.add_argument('--partition', help='Slurm partition')
    parser.add_argument(
        '--jobs', type=int, default=1,
        help='runs at a time with --launcher none, sharing the CPU cores '
        'evenly (default: %(default)s). On 2 cores, --jobs 2 took 5.1 '
        'minutes per segmentation-demo run where one run at a time took '
        '6.1 (docs/paired_demo.md). Another thread count sums in another '
        'order, so a seed gives another draw. With more than one, each '
        'line a run prints starts with its name, e.g. '
        '"[fpn_r50_shapes_seg, seed 0] "')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        metavar='KEY=VALUE',
        help='merged into the config of every run, as tools/train.py '
        'merges them, e.g. env_cfg.dist_cfg.backend=gloo, or with --demo '
        f'{DATASET_KEY}.num_train=1600 {DATASET_KEY}.root=DIR for another '
        f'shapes dataset ({SEED_KEY} is set by --seeds)')
    parser.add_argument(
        '--dry-run', action='store_true',
        help='print the configs that would be dumped (where, and what the '
        'kit changes in them) and the commands of the runs that are not '
        'finished; write nothing')
    parser.add_argument(
        '--demo', nargs='?', const='seg', choices=list(DEMOS),
        help='a demo pair on the generated shapes dataset '
        '(configs/demo/pairs/): seg (Semantic FPN R-50, the default), '
        'seg-half (at half width), seg-4x (2800 iterations), seg-train1600 '
        '(1600 train images), det (Mask R-CNN R-50) or cls (R-50 '
        'classifying one-shape 32x32 images)')
    parser.add_argument(
        '--couple-init', action='store_true',
        help='start both twins of a seed from shared initial weights: the '
        'RLA twin takes every tensor the baseline has from the baseline\'s '
        'initialization with that seed (common random numbers, which '
        'narrow the paired interval without moving the expected delta). '
        'Only with --demo: pretrained backbones are not shared draws')
    args = parser.parse_args(argv)
    if args.couple_init and not args.demo:
        parser.error('--couple-init is for pairs trained from scratch '
                     '(--demo): the COCO and ADE20K configs start their '
                     'backbones from pretrained weights of their own, which '
                     'the twins cannot share.')
    if args.demo and (args.detectors or args.segmentors or
                      args.classifiers or
                      args.backbones not in (None, [DEMO_BACKBONE])):
        parser.error('--demo has one pair; leave out --detectors, '
                     '--segmentors, --classifiers and --backbones.')
    dataset_options = [key for key in args.cfg_options
                       if key.split('.')[0] == DATASET_KEY]
    if dataset_options and not args.demo:
        parser.error(f'--cfg-options {" ".join(dataset_options)}: '
                     f'{DATASET_KEY} is the generated dataset of the demo '
                     f'pairs (--demo); the other configs read datasets of '
                     f'their own.')
    if len(set(args.seeds)) != len(args.seeds):
        parser.error(f'--seeds lists a seed twice: {args.seeds}.')
    if SEED_KEY in args.cfg_options:
        parser.error(f'set the seeds with --seeds, not --cfg-options '
                     f'{SEED_KEY}=...: each seed gets its own run.')
    if not 0 < args.confidence < 1:
        parser.error(f'--confidence must be in (0, 1), e.g. 0.95; got '
                     f'{args.confidence}.')
    if args.launcher is None:
        args.launcher = 'none' if args.demo else 'pytorch'
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition.')
    if args.jobs < 1:
        parser.error(f'--jobs must be 1 or more, got {args.jobs}.')
    if args.jobs > 1 and args.launcher != 'none':
        parser.error(f'--jobs {args.jobs}: runs share a machine only with '
                     '--launcher none; the pytorch and slurm launchers give '
                     'each run its own GPUs.')
    if args.work_dir is None:
        args.work_dir = osp.join(
            'work_dirs', 'paper_pairs_demo' if args.demo else 'paper_pairs')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    zoo = None
    if args.demo:
        families, backbones = [DEMOS[args.demo]], [DEMO_BACKBONE]
    else:
        zoo = read_model_index(MODEL_INDEX)
        if (args.detectors, args.segmentors, args.classifiers) == (None, ) * 3:
            families = [*DETECTORS.values(), *SEGMENTORS.values()]
        else:
            families = ([DETECTORS[k] for k in args.detectors or []] +
                        [SEGMENTORS[k] for k in args.segmentors or []] +
                        [CLASSIFIERS[k] for k in args.classifiers or []])
        backbones = args.backbones or RLA_BACKBONES
    pairs, missing = find_pairs(families, backbones, CONFIG_DIR)
    if not pairs:
        raise SystemExit(f'No pair to run: there are no configs '
                         f'{", ".join(missing)} in {CONFIG_DIR}.')
    if missing and args.backbones:
        print(f'# Skipped, no config: {", ".join(missing)}', file=sys.stderr)
    launch = Launch(args.launcher, args.gpus, args.partition,
                    threads=None if args.jobs == 1 else max(
                        1, (os.cpu_count() or 1) // args.jobs),
                    side_by_side=args.jobs > 1)
    runs = unique_runs(pairs)
    try:
        jobs = plan_jobs(runs, args.seeds, work_dir, args.cfg_options,
                         args.couple_init)
        check_datasets(jobs)
    except ValueError as error:
        raise SystemExit(str(error))
    problem = check_pretrained(jobs)
    if problem and not args.dry_run:
        raise SystemExit(problem)
    if problem:
        print('# WARNING: ' + problem.replace('\n', '\n# '))
    try:
        prepare_datasets(jobs, args.dry_run)
    except ValueError as error:
        raise SystemExit(str(error))
    if not args.dry_run:
        print(announce(pairs, args.seeds, args.confidence, args.couple_init),
              flush=True)
    if args.couple_init:
        # Before the pool: initialization draws from the global RNG.
        for pair in pairs:
            for seed in args.seeds:
                write_coupled_init(find_job(jobs, pair.baseline, seed),
                                   find_job(jobs, pair.rla, seed),
                                   args.dry_run)
    with ThreadPoolExecutor(1 if args.dry_run else args.jobs) as pool:
        # list() re-raises the first failure of a run.
        list(pool.map(
            lambda job: process_run(job, launch, args.dry_run), jobs))
    if args.dry_run:
        return
    for name, seeds in unreported_seeds(runs, args.seeds, work_dir).items():
        print(f'NOTE: {name} has finished seeds {seeds} that --seeds leaves '
              f'out of this report; add them to --seeds to include them.',
              file=sys.stderr)
    paths = write_report(pairs, args.seeds, work_dir, zoo, args.confidence,
                         args.couple_init)
    with open(paths[0]) as f:
        print(f.read())
    print('Written: ' + ', '.join(paths))


if __name__ == '__main__':
    main()
