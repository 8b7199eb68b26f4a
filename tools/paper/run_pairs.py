"""Train and test baseline/RLA detector pairs with identical settings.

For each chosen detector and RLA backbone, the plain-ResNet baseline config
and its RLA twin (``configs/<detector>_<backbone>.py``, which differ only in
the backbone) are trained with ``tools/dist_train.sh`` (or Slurm, or a
single process) and tested with the matching test tool, one run after the
other; a baseline shared by two pairs is trained once. The comparison is
written to ``<work-dir>/pairs.md`` and ``pairs.csv`` (box AP, AP50, AP75,
APs, APm, APl, and mask AP for Mask R-CNN: our baseline, our RLA, their
difference, the paper's RLA) and the training curves to ``pairs.png``.

Resumable: each run keeps its state in ``<work-dir>/<config name>/``. A
finished run is not run again; an interrupted training resumes from its last
checkpoint (``tools/train.py --resume``). Delete a run's folder to redo it.

Usage::

    python tools/paper/run_pairs.py [--detectors D ...] [--backbones B ...]
        [--work-dir DIR] [--launcher {pytorch,slurm,none}] [--gpus N]
        [--partition P] [--cfg-options KEY=VALUE ...] [--dry-run]
    python tools/paper/run_pairs.py --demo [--demo-images TRAIN VAL] ...

``--demo`` runs the kit on the generated shapes dataset with the demo pair
(``configs/demo/``), on CPU by default.
"""
import argparse
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Optional, Sequence

from mmengine.config import Config, DictAction
from pair_report import (PairCurves, PairResult, format_csv,
                         format_markdown, plot_curves, read_curves,
                         read_test_metrics, table_rows, to_percent)
from paper_results import (BACKBONE_NAMES, DETECTORS, PAPER_RLA,
                           RLA_BASELINES)

from rla_mm.datasets.shapes import (ShapesConfig, annotation_path,
                                    ensure_dataset)
from rla_mm.utils.preflight import (find_missing_checkpoints,
                                    missing_checkpoints_message)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO_ROOT, 'tools')
CONFIGS = osp.join(REPO_ROOT, 'configs')
DEMO_PAIR = ('mask_rcnn', 'rla_r50')
LAUNCHERS = ('pytorch', 'slurm', 'none')
# Files a run folder gets from the kit, which mark its progress.
TRAINED_FILE = 'trained.json'
METRICS_FILE = 'metrics.json'


@dataclass(frozen=True)
class Run:
    """One config to train and test; ``name`` is its file name's stem."""
    name: str
    config: str


@dataclass(frozen=True)
class Pair:
    """A baseline config and its RLA twin."""
    detector: str
    backbone: str
    baseline: Run
    rla: Run


def _run(config: str) -> Run:
    return Run(osp.splitext(osp.basename(config))[0], config)


def coco_pair(detector: str, backbone: str) -> Pair:
    """The COCO configs of ``detector`` with ``backbone`` and its baseline."""
    baseline = RLA_BASELINES[backbone]
    return Pair(
        detector, backbone,
        _run(osp.join(CONFIGS, f'{detector}_{baseline}.py')),
        _run(osp.join(CONFIGS, f'{detector}_{backbone}.py')))


def demo_pair() -> Pair:
    """The Mask R-CNN R-50 pair on the shapes dataset (``configs/demo``)."""
    demo = osp.join(CONFIGS, 'demo')
    return Pair(*DEMO_PAIR,
                _run(osp.join(demo, 'mask_rcnn_r50_shapes.py')),
                _run(osp.join(demo, 'mask_rcnn_rla_r50_shapes.py')))


def unique_runs(pairs: Sequence[Pair]) -> List[Run]:
    """Every run of ``pairs`` once, baseline before RLA, in pair order."""
    runs: List[Run] = []
    for pair in pairs:
        runs += [r for r in (pair.baseline, pair.rla) if r not in runs]
    return runs


@dataclass(frozen=True)
class Launch:
    """How the tools are started: ``launcher`` is one of ``LAUNCHERS``."""
    launcher: str = 'pytorch'
    gpus: int = 8
    partition: Optional[str] = None


class Command(NamedTuple):
    """A tool's command line and the environment variables it adds."""
    argv: List[str]
    env: Dict[str, str]

    def shell(self) -> str:
        """The command as one shell line, e.g. for ``--dry-run``."""
        env = [f'{k}={shlex.quote(v)}' for k, v in self.env.items()]
        return ' '.join(env + [shlex.quote(a) for a in self.argv])


def _with_options(argv: List[str], options: Sequence[str]) -> List[str]:
    return argv + (['--cfg-options', *options] if options else [])


def train_command(run: Run, run_dir: str, launch: Launch,
                  options: Sequence[str]) -> Command:
    """Train ``run`` into ``<run_dir>/train``, resuming if it was started.

    ``--resume`` without a path resumes from the latest checkpoint in the
    work dir and starts afresh when there is none.
    """
    work_dir = osp.join(run_dir, 'train')
    if launch.launcher == 'slurm':
        argv = [
            'bash', osp.join(TOOLS, 'slurm_train.sh'), launch.partition,
            run.name, run.config, work_dir, '--resume'
        ]
        return Command(_with_options(argv, options),
                       dict(GPUS=str(launch.gpus)))
    if launch.launcher == 'pytorch':
        argv = [
            'bash', osp.join(TOOLS, 'dist_train.sh'), run.config,
            str(launch.gpus)
        ]
    else:
        argv = [sys.executable, osp.join(TOOLS, 'train.py'), run.config]
    argv += ['--work-dir', work_dir, '--resume']
    return Command(_with_options(argv, options), {})


def test_command(run: Run, checkpoint: str, run_dir: str, launch: Launch,
                 options: Sequence[str]) -> Command:
    """Test ``checkpoint`` of ``run`` into ``<run_dir>/test``."""
    work_dir = osp.join(run_dir, 'test')
    if launch.launcher == 'slurm':
        argv = [
            'bash', osp.join(TOOLS, 'slurm_test.sh'), launch.partition,
            run.name, run.config, checkpoint
        ]
        env = dict(GPUS=str(launch.gpus))
    elif launch.launcher == 'pytorch':
        argv = [
            'bash', osp.join(TOOLS, 'dist_test.sh'), run.config, checkpoint,
            str(launch.gpus)
        ]
        env = {}
    else:
        argv = [sys.executable, osp.join(TOOLS, 'test.py'), run.config,
                checkpoint]
        env = {}
    argv += ['--work-dir', work_dir]
    return Command(_with_options(argv, options), env)


def read_state(run_dir: str, name: str) -> Optional[dict]:
    """A progress file of a run (``TRAINED_FILE``, ``METRICS_FILE``)."""
    path = osp.join(run_dir, name)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def write_state(run_dir: str, name: str, state: dict) -> None:
    """Write a progress file atomically: an interruption leaves none."""
    path = osp.join(run_dir, name)
    with open(path + '.tmp', 'w') as f:
        json.dump(state, f, indent=2)
    os.replace(path + '.tmp', path)


def execute(command: Command, what: str) -> None:
    """Run ``command`` (output streamed); exit with advice if it fails."""
    print('+ ' + command.shell(), flush=True)
    result = subprocess.run(command.argv, env={**os.environ, **command.env})
    if result.returncode != 0:
        raise SystemExit(
            f'{what} failed (exit status {result.returncode}). Fix the cause '
            f'and run the same command again: finished runs are kept, and '
            f'an interrupted training resumes from its last checkpoint.')


def warn_if_changed(run: Run, state: dict, command: Command) -> None:
    """Warn when a finished run was trained with another command line."""
    if state.get('command') != command.argv:
        print(
            f'WARNING: {run.name} was trained with a different command '
            f'line:\n  {shlex.join(state.get("command", []))}\nIts results '
            f'are kept; delete its folder to train it with the current '
            f'settings.',
            file=sys.stderr)


def process_run(run: Run, work_dir: str, launch: Launch,
                options: Sequence[str], dry_run: bool) -> None:
    """Bring ``run`` to its next state: trained, then tested.

    With ``dry_run``, print the commands that would run instead.
    """
    run_dir = osp.join(work_dir, run.name)
    train = train_command(run, run_dir, launch, options)
    trained = read_state(run_dir, TRAINED_FILE)
    if trained is not None:
        warn_if_changed(run, trained, train)
    if read_state(run_dir, METRICS_FILE) is not None:
        print(f'# {run.name}: finished, skipped', flush=True)
        return
    if dry_run:
        print(f'# {run.name}')
        if trained is not None:
            print(test_command(run, trained['checkpoint'], run_dir, launch,
                               options).shell())
            return
        print(train.shell())
        # The checkpoint is only known once training has finished: the
        # printed command has the shell read it then.
        placeholder = '@CHECKPOINT@'
        last = osp.join(run_dir, 'train', 'last_checkpoint')
        test = test_command(run, placeholder, run_dir, launch, options)
        print(test.shell().replace(placeholder, f'"$(cat {last})"'))
        return

    os.makedirs(run_dir, exist_ok=True)
    if trained is None:
        execute(train, f'Training {run.name}')
        with open(osp.join(run_dir, 'train', 'last_checkpoint')) as f:
            trained = dict(checkpoint=f.read().strip(), command=train.argv)
        write_state(run_dir, TRAINED_FILE, trained)
    test = test_command(run, trained['checkpoint'], run_dir, launch, options)
    execute(test, f'Testing {run.name}')
    metrics = read_test_metrics(osp.join(run_dir, 'test'))
    write_state(run_dir, METRICS_FILE, metrics)


def check_pretrained(runs: Sequence[Run], options: Sequence[str],
                     work_dir: str) -> Optional[str]:
    """Why the untrained ``runs`` cannot start, or None if they can.

    Each RLA config needs the authors' ImageNet weights; finding one missing
    before the first run starts beats finding it after a day of training.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    overrides = parser.parse_args(['--cfg-options', *options]
                                  if options else []).cfg_options
    names, missing = [], []
    for run in runs:
        if read_state(osp.join(work_dir, run.name), TRAINED_FILE):
            continue
        cfg = Config.fromfile(run.config)
        if overrides:
            cfg.merge_from_dict(overrides)
        found = find_missing_checkpoints(cfg.model)
        if found:
            names.append(run.name)
            missing += [m for m in found if m not in missing]
    if not missing:
        return None
    return (f'{", ".join(names)} cannot start. ' +
            missing_checkpoints_message(missing))


def _percent(run_dir: str) -> Optional[Dict[str, float]]:
    metrics = read_state(run_dir, METRICS_FILE)
    return None if metrics is None else to_percent(metrics)


def write_report(pairs: Sequence[Pair], work_dir: str,
                 demo: bool) -> List[str]:
    """Write ``pairs.md``, ``pairs.csv`` and ``pairs.png``; return paths."""
    results, curves = [], []
    for pair in pairs:
        baseline_dir = osp.join(work_dir, pair.baseline.name)
        rla_dir = osp.join(work_dir, pair.rla.name)
        paper = None if demo else PAPER_RLA.get(
            (pair.detector, pair.backbone))
        names = (BACKBONE_NAMES[RLA_BASELINES[pair.backbone]],
                 BACKBONE_NAMES[pair.backbone])
        title = DETECTORS[pair.detector] + (' (demo)' if demo else '')
        results.append(
            PairResult(title, *names, _percent(baseline_dir),
                       _percent(rla_dir), paper))
        curves.append(
            PairCurves(
                f'{title}, {names[1]} vs {names[0]}', *names,
                read_curves(osp.join(baseline_dir, 'train')),
                read_curves(osp.join(rla_dir, 'train')),
                None if paper is None else paper['bbox_mAP']))
    rows = table_rows(results)
    paths = [
        osp.join(work_dir, f'pairs.{ext}') for ext in ('md', 'csv', 'png')
    ]
    with open(paths[0], 'w') as f:
        f.write(format_markdown(rows))
    with open(paths[1], 'w') as f:
        f.write(format_csv(rows))
    plot_curves(curves, paths[2])
    return paths


def prepare_demo(data_root: str, images: Dict[str, int],
                 dry_run: bool) -> List[str]:
    """Write the shapes dataset if needed; return the options that use it.

    Args:
        data_root (str): The dataset's folder.
        images (dict): ``num_train`` and ``num_val`` where not the
            dataset's defaults.
        dry_run (bool): Only say what would be written.

    Returns:
        list[str]: ``--cfg-options`` that point every dataloader and
        evaluator of the demo configs at ``data_root``.
    """
    root = osp.abspath(data_root)
    if dry_run:
        print(f'# would write the shapes dataset to {root} if missing')
    elif ensure_dataset(root, ShapesConfig(**images)):
        print(f'Wrote the shapes dataset to {root}.')
    options = [
        f'{loader}.dataset.data_root={root}'
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
    ]
    ann_file = annotation_path(root, 'val')
    options += [f'{evaluator}.ann_file={ann_file}'
                for evaluator in ('val_evaluator', 'test_evaluator')]
    return options


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and test baseline/RLA detector pairs with '
        'identical settings and tabulate the results next to the paper\'s.')
    parser.add_argument(
        '--detectors', nargs='+', choices=sorted(DETECTORS),
        help='detectors to compare (default: all)')
    parser.add_argument(
        '--backbones', nargs='+', choices=sorted(RLA_BASELINES),
        help='RLA backbones, each compared with its ResNet of the same '
        'depth (default: all)')
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
        '--gpus', type=int, default=8,
        help='GPUs per run (default: %(default)s, the configs\' 8 x 2 '
        'images)')
    parser.add_argument('--partition', help='Slurm partition')
    parser.add_argument(
        '--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
        help='passed to both tools for every run, e.g. '
        'env_cfg.dist_cfg.backend=gloo')
    parser.add_argument(
        '--dry-run', action='store_true',
        help='print the commands of the runs that are not finished')
    parser.add_argument(
        '--demo', action='store_true',
        help='the demo pair (Mask R-CNN R-50) on the generated shapes '
        'dataset')
    parser.add_argument(
        '--demo-data-root', default='data/demo_shapes',
        help='shapes dataset folder (default: %(default)s)')
    parser.add_argument(
        '--demo-images', nargs=2, type=int, metavar=('TRAIN', 'VAL'),
        default=None, help='images to generate per split (default: the '
        'dataset\'s own sizes)')
    args = parser.parse_args(argv)
    if args.demo and (args.detectors not in (None, [DEMO_PAIR[0]])
                      or args.backbones not in (None, [DEMO_PAIR[1]])):
        parser.error(f'--demo has one pair: --detectors {DEMO_PAIR[0]} '
                     f'--backbones {DEMO_PAIR[1]}.')
    if args.launcher is None:
        args.launcher = 'none' if args.demo else 'pytorch'
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition.')
    if args.work_dir is None:
        args.work_dir = osp.join(
            'work_dirs', 'paper_pairs_demo' if args.demo else 'paper_pairs')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    work_dir = osp.abspath(args.work_dir)
    options = list(args.cfg_options)
    if args.demo:
        pairs = [demo_pair()]
        images = {} if args.demo_images is None else dict(
            num_train=args.demo_images[0], num_val=args.demo_images[1])
        options = prepare_demo(args.demo_data_root, images,
                               args.dry_run) + options
    else:
        pairs = [
            coco_pair(detector, backbone)
            for detector in args.detectors or DETECTORS
            for backbone in args.backbones or RLA_BASELINES
        ]
    launch = Launch(args.launcher, args.gpus, args.partition)
    runs = unique_runs(pairs)
    problem = check_pretrained(runs, options, work_dir)
    if problem and not args.dry_run:
        raise SystemExit(problem)
    if problem:
        print('# WARNING: ' + problem.replace('\n', '\n# '))
    for run in runs:
        process_run(run, work_dir, launch, options, args.dry_run)
    if args.dry_run:
        return
    paths = write_report(pairs, work_dir, args.demo)
    with open(paths[0]) as f:
        print(f.read())
    print('Written: ' + ', '.join(paths))


if __name__ == '__main__':
    main()
