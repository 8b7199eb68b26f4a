"""Train and test baseline/RLA pairs over seeds, resumably, and report them.

Each run of a config with a seed lives in ``<work_dir>/<config name>/
seed_<seed>/``: ``train/`` and ``test/`` are the tools' work dirs, and two
files mark its progress, written once a stage has finished:
``trained.json`` (the checkpoint and the training command line) and
``metrics.json`` (the test metrics). A finished run is not run again; an
interrupted training resumes from its last checkpoint
(``tools/train.py --resume``).
"""
import argparse
import json
import os
import os.path as osp
import shlex
import sys
from dataclasses import dataclass, replace
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import torch
from mmengine.config import Config, DictAction

from ..demo.shapes import (ShapesConfig, annotation_path, ensure_dataset,
                           generator_info)
from ..demo.shapes_cls import CLS_SHAPES, ensure_cls_dataset
from ..utils.codebases import read_config
from ..utils.preflight import (find_missing_checkpoints,
                               missing_checkpoints_message)
from ..utils.runs import (TOOLS_DIR, print_line, read_test_metrics,
                          run_command, shell_line, tool_command)
from .catalog import BACKBONES, CLASSIFICATION, DETECTION, Family
from .coupling import coupled_initial_states
from .metafile import PAPER, ZooModel
from .report import (PairCurves, PairResults, SeedResult, format_markdown,
                     format_seeds_csv, format_summary_csv, plot_pairs,
                     protocol, read_curves, to_percent)

LAUNCHERS = ('pytorch', 'slurm', 'none')
TRAINED_FILE = 'trained.json'
METRICS_FILE = 'metrics.json'
# The initial weights of a run with --couple-init, in its folder.
INIT_FILE = 'init.pth'
SEED_OPTION = 'randomness.seed'
# Val images of the kit's demo dataset. The demos score on 50, which leaves
# much of the seed spread to the choice of those images: scored on 1000, the
# same five checkpoints of the segmentation demo's ResNet twin spread with
# an sd of 0.76 mIoU instead of 1.99 (docs/paired_demo.md).
DEMO_VAL_IMAGES = 1000
# The shapes dataset that a work dir's demo runs train and score on.
DEMO_DATA_FILE = 'demo_data.json'
REPORT_FILES = ('pairs.md', 'pairs.csv', 'pairs_seeds.csv', 'pairs.png')


@dataclass(frozen=True)
class Run:
    """One config to train and test.

    Attributes:
        name (str): The config's file name without ``.py``.
        config (str): Its path.
        gpus (int): GPUs of its batch, used unless ``--gpus`` says otherwise.
    """
    name: str
    config: str
    gpus: int


@dataclass(frozen=True)
class Pair:
    """A baseline config and its RLA twin."""
    family: Family
    backbone: str
    baseline: Run
    rla: Run


def _run(family: Family, backbone: str, config_dir: str) -> Run:
    stem = family.config_name(backbone)
    return Run(osp.basename(stem), osp.join(config_dir, stem + '.py'),
               family.gpus)


def find_pairs(families: Sequence[Family], backbones: Sequence[str],
               config_dir: str) -> Tuple[List[Pair], List[str]]:
    """The pairs of ``families`` x RLA ``backbones`` that have configs.

    Returns:
        tuple[list[Pair], list[str]]: The pairs whose two configs exist, and
        the names of the missing configs of the others.
    """
    pairs, missing = [], []
    for family in families:
        for backbone in backbones:
            baseline = BACKBONES[backbone].baseline
            if baseline is None:
                raise ValueError(f'{backbone} is a plain ResNet; pair an RLA '
                                 'backbone with it instead.')
            pair = Pair(family, backbone, _run(family, baseline, config_dir),
                        _run(family, backbone, config_dir))
            absent = [r.name for r in (pair.baseline, pair.rla)
                      if not osp.isfile(r.config)]
            if absent:
                missing += [name for name in absent if name not in missing]
            else:
                pairs.append(pair)
    return pairs, missing


def unique_runs(pairs: Sequence[Pair]) -> List[Run]:
    """Every run of ``pairs`` once, baseline before RLA, in pair order."""
    runs: List[Run] = []
    for pair in pairs:
        runs += [r for r in (pair.baseline, pair.rla) if r not in runs]
    return runs


def run_dir(work_dir: str, run: Run, seed: int) -> str:
    """The folder of ``run`` with ``seed``."""
    return osp.join(work_dir, run.name, f'seed_{seed}')


@dataclass(frozen=True)
class Launch:
    """How the tools are started.

    Attributes:
        launcher (str): One of ``LAUNCHERS``.
        gpus (int, optional): GPUs per run; None for each config's own.
        partition (str, optional): The Slurm partition.
        threads (int, optional): CPU threads of each run of the ``'none'``
            launcher (``OMP_NUM_THREADS``); None for torch's default.
        side_by_side (bool): Runs go side by side in threads: each tool's
            output is relayed line by line behind the run's name, so that
            the lines of two runs stay whole and tell whose they are.
    """
    launcher: str = 'pytorch'
    gpus: Optional[int] = None
    partition: Optional[str] = None
    threads: Optional[int] = None
    side_by_side: bool = False

    def local_env(self) -> Dict[str, str]:
        """Environment of a run of the ``'none'`` launcher."""
        if self.threads is None:
            return {}
        return dict(OMP_NUM_THREADS=str(self.threads),
                    MKL_NUM_THREADS=str(self.threads))


class Command(NamedTuple):
    """A tool's command line and the environment variables it adds."""
    argv: List[str]
    env: Dict[str, str]

    def shell(self) -> str:
        """The command as one shell line, e.g. for ``--dry-run``."""
        return shell_line(self.argv, self.env)


def _with_options(argv: List[str], options: Sequence[str]) -> List[str]:
    return argv + (['--cfg-options', *options] if options else [])


def seed_options(options: Sequence[str], seed: int) -> List[str]:
    """``options`` with the seed of the run added."""
    return [*options, f'{SEED_OPTION}={seed}']


def train_command(run: Run, folder: str, launch: Launch,
                  options: Sequence[str]) -> Command:
    """Train ``run`` into ``<folder>/train``, resuming if it was started.

    ``--resume`` without a path resumes from the latest checkpoint in the
    work dir and starts afresh when there is none.
    """
    work_dir = osp.join(folder, 'train')
    gpus = str(launch.gpus or run.gpus)
    if launch.launcher == 'slurm':
        argv = [
            'bash', osp.join(TOOLS_DIR, 'slurm_train.sh'), launch.partition,
            run.name, run.config, work_dir, '--resume'
        ]
        return Command(_with_options(argv, options), dict(GPUS=gpus))
    env: Dict[str, str] = {}
    if launch.launcher == 'pytorch':
        argv = ['bash', osp.join(TOOLS_DIR, 'dist_train.sh'), run.config, gpus]
    else:
        argv = tool_command('train.py', run.config)
        env = launch.local_env()
    argv += ['--work-dir', work_dir, '--resume']
    return Command(_with_options(argv, options), env)


def test_command(run: Run, checkpoint: str, folder: str, launch: Launch,
                 options: Sequence[str]) -> Command:
    """Test ``checkpoint`` of ``run`` into ``<folder>/test``."""
    work_dir = osp.join(folder, 'test')
    gpus = str(launch.gpus or run.gpus)
    env: Dict[str, str] = {}
    if launch.launcher == 'slurm':
        argv = [
            'bash', osp.join(TOOLS_DIR, 'slurm_test.sh'), launch.partition,
            run.name, run.config, checkpoint
        ]
        env = dict(GPUS=gpus)
    elif launch.launcher == 'pytorch':
        argv = [
            'bash', osp.join(TOOLS_DIR, 'dist_test.sh'), run.config,
            checkpoint, gpus
        ]
    else:
        argv = tool_command('test.py', run.config, checkpoint)
        env = launch.local_env()
    argv += ['--work-dir', work_dir]
    return Command(_with_options(argv, options), env)


def announce(pairs: Sequence[Pair], seeds: Sequence[int], confidence: float,
             coupled: bool = False) -> str:
    """The protocol and the configs compared, stated before any run."""
    lines = [f'# Protocol, fixed before the runs\n\n'
             f'{protocol(seeds, confidence, coupled)}\n\nPairs (RLA twin vs '
             f'baseline):']
    lines += [f'- {p.family.title}: {p.rla.name} vs {p.baseline.name}'
              for p in pairs]
    return '\n'.join(lines) + '\n'


def read_state(folder: str, name: str) -> Optional[dict]:
    """A progress file of a run (``TRAINED_FILE``, ``METRICS_FILE``)."""
    path = osp.join(folder, name)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def write_state(folder: str, name: str, state: dict) -> None:
    """Write a progress file atomically: an interruption leaves none."""
    path = osp.join(folder, name)
    with open(path + '.tmp', 'w') as f:
        json.dump(state, f, indent=2)
    os.replace(path + '.tmp', path)


def execute(command: Command, what: str,
            prefix: Optional[str] = None) -> None:
    """Run ``command``; exit with advice if it fails.

    Its output is streamed, or relayed behind ``prefix`` when given
    (``run_command``).
    """
    result = run_command(command.argv, command.env, check=False,
                         prefix=prefix)
    if result.returncode != 0:
        raise SystemExit(
            f'{what} failed (exit status {result.returncode}). Fix the cause '
            f'and run the same command again: finished runs are kept, and '
            f'an interrupted training resumes from its last checkpoint.')


def warn_if_changed(label: str, state: dict, command: Command) -> None:
    """Warn when a finished run was trained with another command line."""
    if state.get('command') != command.argv:
        print_line(
            f'WARNING: {label} was trained with a different command '
            f'line:\n  {shlex.join(state.get("command", []))}\nIts results '
            f'are kept; delete its folder to train it with the current '
            f'settings.',
            file=sys.stderr)


def init_options(path: str, seed: int) -> List[str]:
    """``--cfg-options`` that start training from the weights in ``path``.

    They add ``SharedStartHook`` under ``default_hooks``: ``--cfg-options``
    can add a key to a dict but not an item to ``custom_hooks``, a list, and
    mmengine registers every entry of ``default_hooks``.
    """
    return [f'default_hooks.shared_start.{key}={value}'
            for key, value in (('type', 'SharedStartHook'),
                               ('checkpoint', path), ('seed', seed))]


def write_coupled_init(pair: Pair, seed: int, work_dir: str,
                       options: Sequence[str], dry_run: bool) -> None:
    """Write the twins' shared initial weights at ``seed`` (``INIT_FILE``).

    Skipped for a pair whose two runs have both been trained or both have
    the file. See ``rla_lab.paper.coupling``.
    """
    runs = (pair.baseline, pair.rla)
    folders = [run_dir(work_dir, run, seed) for run in runs]
    if all(read_state(folder, TRAINED_FILE) or osp.isfile(
            osp.join(folder, INIT_FILE)) for folder in folders):
        return
    if dry_run:
        print(f'# would write shared initial weights of seed {seed} to '
              f'{", ".join(osp.join(f, INIT_FILE) for f in folders)}')
        return
    overrides = parse_cfg_options(seed_options(options, seed))
    states = coupled_initial_states(
        *[run_config(run, overrides) for run in runs], seed)
    for folder, state in zip(folders, (states['baseline'], states['rla'])):
        os.makedirs(folder, exist_ok=True)
        path = osp.join(folder, INIT_FILE)
        torch.save(state, path + '.tmp')
        os.replace(path + '.tmp', path)


def process_run(run: Run, seed: int, work_dir: str, launch: Launch,
                options: Sequence[str], dry_run: bool,
                coupled: bool = False) -> None:
    """Bring ``run`` with ``seed`` to its next state: trained, then tested.

    With ``dry_run``, print the commands that would run instead. With
    ``coupled``, training starts from the run's ``INIT_FILE``
    (``write_coupled_init``).
    """
    folder = run_dir(work_dir, run, seed)
    label = f'{run.name}, seed {seed}'
    options = seed_options(options, seed)
    train = train_command(
        run, folder, launch, options +
        (init_options(osp.join(folder, INIT_FILE), seed) if coupled else []))
    trained = read_state(folder, TRAINED_FILE)
    if trained is not None:
        warn_if_changed(label, trained, train)
    if read_state(folder, METRICS_FILE) is not None:
        print_line(f'# {label}: finished, skipped')
        return
    if dry_run:
        print(f'# {label}')
        if trained is not None:
            print(test_command(run, trained['checkpoint'], folder, launch,
                               options).shell())
            return
        print(train.shell())
        # The checkpoint is only known once training has finished: the
        # printed command has the shell read it then.
        placeholder = '@CHECKPOINT@'
        last = osp.join(folder, 'train', 'last_checkpoint')
        test = test_command(run, placeholder, folder, launch, options)
        print(test.shell().replace(placeholder, f'"$(cat {last})"'))
        return

    os.makedirs(folder, exist_ok=True)
    prefix = f'[{label}] ' if launch.side_by_side else None
    if trained is None:
        execute(train, f'Training {label}', prefix)
        with open(osp.join(folder, 'train', 'last_checkpoint')) as f:
            trained = dict(checkpoint=f.read().strip(), command=train.argv)
        write_state(folder, TRAINED_FILE, trained)
    test = test_command(run, trained['checkpoint'], folder, launch, options)
    execute(test, f'Testing {label}', prefix)
    record = read_test_metrics(osp.join(folder, 'test'))
    write_state(folder, METRICS_FILE, record)


def parse_cfg_options(options: Sequence[str]) -> Optional[dict]:
    """``--cfg-options`` as mmengine's ``DictAction`` reads them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]
                             if options else []).cfg_options


def run_config(run: Run, overrides: Optional[dict]) -> Config:
    """The config of ``run`` with ``overrides`` (``parse_cfg_options``)."""
    cfg = read_config(run.config)
    if overrides:
        cfg.merge_from_dict(overrides)
    return cfg


def check_pretrained(runs: Sequence[Run], seeds: Sequence[int],
                     options: Sequence[str], work_dir: str) -> Optional[str]:
    """Why the untrained ``runs`` cannot start, or None if they can.

    Each RLA config needs the authors' ImageNet weights; finding one missing
    before the first run starts beats finding it after a day of training.
    """
    overrides = parse_cfg_options(options)
    names, missing = [], []
    for run in runs:
        if all(read_state(run_dir(work_dir, run, seed), TRAINED_FILE)
               for seed in seeds):
            continue
        found = find_missing_checkpoints(run_config(run, overrides).model)
        if found:
            names.append(run.name)
            missing += [m for m in found if m not in missing]
    if not missing:
        return None
    return (f'{", ".join(names)} cannot start. ' +
            missing_checkpoints_message(missing))


def unreported_seeds(runs: Sequence[Run], seeds: Sequence[int],
                     work_dir: str) -> Dict[str, List[int]]:
    """Finished seeds of ``runs`` in ``work_dir`` that ``seeds`` leaves out.

    A report must not drop seeds silently: the caller says which these are.
    """
    found = {}
    for run in runs:
        folder = osp.join(work_dir, run.name)
        names = os.listdir(folder) if osp.isdir(folder) else []
        extra = sorted(
            int(name[len('seed_'):]) for name in names
            if name.startswith('seed_') and name[len('seed_'):].isdigit()
            and int(name[len('seed_'):]) not in seeds
            and read_state(osp.join(folder, name), METRICS_FILE))
        if extra:
            found[run.name] = extra
    return found


def _percent(folder: str, family: Family) -> Optional[Dict[str, float]]:
    record = read_state(folder, METRICS_FILE)
    return None if record is None else to_percent(record, family.metrics)


def paper_values(pair: Pair,
                 zoo: Optional[Mapping[str, ZooModel]]) -> Optional[dict]:
    """The paper's values of the pair's RLA model by metric key, if any."""
    model = (zoo or {}).get(pair.rla.name)
    if model is None or model.results is None or (model.results.source
                                                   != PAPER):
        return None
    metrics = model.results.metrics
    return {m.key: metrics[m.name] for m in pair.family.metrics
            if m.name in metrics}


def pair_results(pair: Pair, seeds: Sequence[int], work_dir: str,
                 zoo: Optional[Mapping[str, ZooModel]]) -> PairResults:
    """What the run folders of ``pair`` hold for ``seeds``."""
    return PairResults(
        pair.family.title, BACKBONES[BACKBONES[pair.backbone].baseline].name,
        BACKBONES[pair.backbone].name, pair.family.task, [
            SeedResult(
                seed,
                _percent(run_dir(work_dir, pair.baseline, seed), pair.family),
                _percent(run_dir(work_dir, pair.rla, seed), pair.family))
            for seed in seeds
        ], paper_values(pair, zoo))


def write_report(pairs: Sequence[Pair], seeds: Sequence[int], work_dir: str,
                 zoo: Optional[Mapping[str, ZooModel]],
                 confidence: float, coupled: bool = False) -> List[str]:
    """Write ``REPORT_FILES`` into ``work_dir``; return their paths.

    Args:
        pairs (Sequence[Pair]): The pairs to report.
        seeds (Sequence[int]): The seeds asked for.
        work_dir (str): The kit's work dir.
        zoo (Mapping[str, ZooModel], optional): The model zoo, for the
            paper's values; None to show none (e.g. for the demo).
        confidence (float): Coverage of the delta's interval.
        coupled (bool): Whether the twins shared their initial weights.
    """
    results = [pair_results(p, seeds, work_dir, zoo) for p in pairs]
    curves = [
        PairCurves(result, *[{
            seed: read_curves(
                osp.join(run_dir(work_dir, run, seed), 'train'),
                pair.family.metrics[0])
            for seed in seeds
        } for run in (pair.baseline, pair.rla)])
        for pair, result in zip(pairs, results)
    ]
    paths = [osp.join(work_dir, name) for name in REPORT_FILES]
    texts = (format_markdown(results, seeds, confidence, coupled),
             format_summary_csv(results, confidence),
             format_seeds_csv(results))
    for path, text in zip(paths, texts):
        with open(path, 'w') as f:
            f.write(text)
    plot_pairs(curves, paths[3])
    return paths


def pin_demo_data(work_dir: str, cfg: ShapesConfig, dry_run: bool) -> None:
    """Record in ``work_dir`` the dataset its demo runs use; refuse another.

    A shared data root may be rewritten for another work dir: this one's
    next start writes its own dataset back (equal configs give identical
    files), so its runs never mix two datasets in one report.

    Args:
        work_dir (str): The kit's work dir.
        cfg (ShapesConfig): The dataset this command would train on.
        dry_run (bool): Check only; write nothing.

    Raises:
        ValueError: If ``work_dir`` is pinned to a dataset drawn otherwise.
    """
    wanted = generator_info(cfg)
    pinned = read_state(work_dir, DEMO_DATA_FILE)
    if pinned is None:
        if not dry_run:
            os.makedirs(work_dir, exist_ok=True)
            write_state(work_dir, DEMO_DATA_FILE, wanted)
        return
    if pinned == wanted:
        return
    was, now = ({**info.get('generator', {}),
                 'generator_version': info.get('generator_version')}
                for info in (pinned, wanted))
    changed = [f'{key} {was.get(key)} -> {value}'
               for key, value in now.items() if was.get(key) != value]
    raise ValueError(
        f'{work_dir} was started on another shapes dataset '
        f'({", ".join(changed)}; recorded in {DEMO_DATA_FILE}), and a '
        f'report must not mix the two. Give this dataset a --work-dir of '
        f'its own, or repeat the recorded --demo-images / --demo-radius.')


def prepare_demo(data_root: str, images: Optional[Tuple[int, int]],
                 task: str, work_dir: str, dry_run: bool,
                 radius: Optional[Tuple[float, float]] = None) -> List[str]:
    """Write the shapes dataset if needed; return the options that use it.

    Args:
        data_root (str): The dataset's folder.
        images (tuple[int, int], optional): Train and val images where not
            the defaults: the demos' train split and ``DEMO_VAL_IMAGES``
            val images for detection and segmentation, the classification
            demo's splits (``CLS_SHAPES``) for classification.
        task (str): The demo pair's task, e.g. ``DETECTION``.
        work_dir (str): The kit's work dir, pinned to the dataset
            (``pin_demo_data``).
        dry_run (bool): Only say what would be written.
        radius (tuple[float, float], optional): Smallest and largest
            circumradius of the shapes, as fractions of the image size,
            where not the demos' (detection and segmentation only).

    Returns:
        list[str]: ``--cfg-options`` that point every dataloader (and the
        COCO evaluators of a detection pair) at ``data_root``.

    Raises:
        ValueError: If ``work_dir`` holds runs on another shapes dataset.
    """
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    root = osp.abspath(data_root)
    if task == CLASSIFICATION:
        defaults, ensure, shapes = CLS_SHAPES, ensure_cls_dataset, {}
    else:
        defaults, ensure = ShapesConfig(), ensure_dataset
        shapes = dict(num_val=DEMO_VAL_IMAGES)
    if images is not None:
        shapes = dict(num_train=images[0], num_val=images[1])
    if radius is not None:
        shapes.update(min_radius=radius[0], max_radius=radius[1])
    cfg = replace(defaults, **shapes)
    pin_demo_data(work_dir, cfg, dry_run)
    if dry_run:
        print(f'# would write the shapes dataset to {root} if missing')
    elif ensure(root, cfg):
        print(f'Wrote the shapes dataset to {root}.')
    options = [f'{loader}.dataset.data_root={root}' for loader in loaders]
    if task == DETECTION:
        ann_file = annotation_path(root, 'val')
        options += [f'{evaluator}.ann_file={ann_file}'
                    for evaluator in ('val_evaluator', 'test_evaluator')]
    return options
