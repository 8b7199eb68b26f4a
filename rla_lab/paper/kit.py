"""Train and test baseline/RLA pairs over seeds, resumably, and report them.

Each run of a config with a seed lives in ``<work_dir>/<config name>/
seed_<seed>/``. The kit builds the run's config in Python
(:func:`build_config`: the config file with the user's options merged, the
seed set, and for the demos the shared initial weights' hook appended and
the shapes dataset's folder set in every dataloader), dumps it there as
``config.py`` and launches the tools with that file alone: ``train/`` and
``test/`` are their work dirs. Two files mark a run's progress, written once
a stage has finished: ``trained.json`` (the checkpoint and the training
command line) and ``metrics.json`` (the test metrics). A finished run is
not run again; an interrupted training resumes from its last checkpoint
(``tools/train.py --resume``). A run keeps the config it was started with:
when the kit now builds another, the changed keys are reported
(:func:`warn_if_changed`); deleting the run's folder redoes it.
"""
import copy
import json
import os
import os.path as osp
import sys
import threading
from dataclasses import dataclass
from typing import (Any, Dict, List, Mapping, NamedTuple, Optional, Sequence,
                    Tuple)

import torch
from mmengine.config import Config

from ..demo.config_dataset import (DATASET_KEY, dataset_of,
                                   ensure_config_dataset, point_at_dataset)
from ..utils.codebases import read_config
from ..utils.preflight import (MissingCheckpoint, find_missing_checkpoints,
                               missing_checkpoints_message)
from ..utils.runs import (TOOLS_DIR, print_line, read_test_metrics,
                          run_command, shell_line, tool_command)
from .catalog import BACKBONES, Family
from .coupling import coupled_initial_states
from .metafile import PAPER, ZooModel
from .report import (PairCurves, PairResults, SeedResult, format_markdown,
                     format_seeds_csv, format_summary_csv, plot_pairs,
                     protocol, read_curves, to_percent)

LAUNCHERS = ('pytorch', 'slurm', 'none')
TRAINED_FILE = 'trained.json'
METRICS_FILE = 'metrics.json'
# The config a run is launched with, in its folder.
CONFIG_FILE = 'config.py'
# The initial weights of a run with --couple-init, in its folder.
INIT_FILE = 'init.pth'
SEED_KEY = 'randomness.seed'
REPORT_FILES = ('pairs.md', 'pairs.csv', 'pairs_seeds.csv', 'pairs.png')
_DUMP_LOCK = threading.Lock()


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


def shared_start_hook(folder: str, seed: int) -> dict:
    """The hook that starts the run in ``folder`` from its ``INIT_FILE``
    (``rla_mm.engine.SharedStartHook``), re-seeding with ``seed``."""
    return dict(type='SharedStartHook', checkpoint=osp.join(folder, INIT_FILE),
                seed=seed)


def build_config(source: Config, options: Mapping[str, Any], seed: int,
                 folder: str, coupled: bool = False) -> Config:
    """The config the kit launches for one run with ``seed``.

    A copy of ``source`` with ``options`` merged as ``--cfg-options`` would
    merge them and ``randomness.seed`` set to ``seed``; with ``coupled``,
    ``shared_start_hook`` appended to the config's own ``custom_hooks``; and
    for a config that names a shapes dataset, its folder made absolute in
    every dataloader (``point_at_dataset``).

    Args:
        source (Config): The config file as read.
        options (Mapping[str, Any]): The user's ``--cfg-options``, as
            mmengine's ``DictAction`` parsed them.
        seed (int): The run's seed.
        folder (str): The run's folder, where ``coupled`` weights are.
        coupled (bool): Start from the pair's shared initial weights.

    Raises:
        ValueError: If the config names an invalid shapes dataset.
    """
    cfg = copy.deepcopy(source)
    if options:
        cfg.merge_from_dict(copy.deepcopy(dict(options)))
    cfg.merge_from_dict({SEED_KEY: seed})
    if coupled:
        cfg.custom_hooks = [*(cfg.get('custom_hooks') or []),
                            shared_start_hook(folder, seed)]
    point_at_dataset(cfg)
    return cfg


@dataclass(frozen=True)
class Job:
    """A run with one seed, and the config the kit builds for it.

    Attributes:
        run (Run): The run.
        seed (int): Its seed.
        folder (str): Its folder (``run_dir``).
        source (Config): The run's config file as read.
        cfg (Config): What the kit launches (``build_config``).
    """
    run: Run
    seed: int
    folder: str
    source: Config
    cfg: Config

    @property
    def label(self) -> str:
        """The run and seed, as messages name them."""
        return f'{self.run.name}, seed {self.seed}'

    @property
    def config_file(self) -> str:
        """Where its config is dumped and launched from."""
        return osp.join(self.folder, CONFIG_FILE)

    @property
    def init_file(self) -> str:
        """Where its shared initial weights go (``--couple-init``)."""
        return osp.join(self.folder, INIT_FILE)


def plan_jobs(runs: Sequence[Run], seeds: Sequence[int], work_dir: str,
              options: Mapping[str, Any], coupled: bool = False
              ) -> List[Job]:
    """Every run with every seed, seed by seed, with its config built.

    Each config file is read once (``read_config``).

    Raises:
        ValueError: If a config names an invalid shapes dataset; the
            message names the config.
    """
    sources = {run.name: read_config(run.config) for run in runs}
    jobs = []
    for seed in seeds:
        for run in runs:
            folder = run_dir(work_dir, run, seed)
            try:
                cfg = build_config(sources[run.name], options, seed, folder,
                                   coupled)
            except ValueError as error:
                raise ValueError(f'{run.config}: {error}') from error
            jobs.append(Job(run, seed, folder, sources[run.name], cfg))
    return jobs


def find_job(jobs: Sequence[Job], run: Run, seed: int) -> Job:
    """The job of ``run`` with ``seed``.

    Raises:
        ValueError: If ``jobs`` has none (they were planned for other runs
            or seeds).
    """
    for job in jobs:
        if job.run == run and job.seed == seed:
            return job
    raise ValueError(f'No job of {run.name} with seed {seed}: plan_jobs '
                     f'was given other runs or seeds.')


# A key that one of two compared configs lacks.
_ABSENT = object()


def _show(value: Any) -> str:
    return '(absent)' if value is _ABSENT else repr(value)


def flatten(value: Any, prefix: str = '') -> Dict[str, Any]:
    """The leaves of nested dicts and lists by dotted key, e.g.
    ``{'a.b': 1, 'hooks.0.type': 'X'}``; an empty dict or list, and any
    other value, is a leaf."""
    if isinstance(value, dict) and value:
        items = list(value.items())
    elif isinstance(value, list) and value:
        items = list(enumerate(value))
    else:
        return {prefix: value}
    flat: Dict[str, Any] = {}
    for key, item in items:
        flat.update(flatten(item, f'{prefix}.{key}' if prefix else str(key)))
    return flat


def config_changes(old: Mapping, new: Mapping) -> List[str]:
    """What differs from ``old`` to ``new``, as ``'dotted.key: old -> new'``
    lines (``(absent)`` for a key one of them lacks), in ``new``'s order,
    then the keys only ``old`` has.

    Args:
        old (Mapping): A config as a dict (``Config.to_dict``).
        new (Mapping): Another.
    """
    was, now = flatten(dict(old)), flatten(dict(new))
    keys = list(now) + [key for key in was if key not in now]
    return [
        f'{key}: {_show(was.get(key, _ABSENT))} -> '
        f'{_show(now.get(key, _ABSENT))}'
        for key in keys if was.get(key, _ABSENT) != now.get(key, _ABSENT)
    ]


def read_recorded(job: Job) -> Optional[Config]:
    """The config the run was started with (its ``CONFIG_FILE``), if any."""
    path = job.config_file
    return Config.fromfile(path) if osp.isfile(path) else None


def dump_config(cfg: Config, path: str) -> None:
    """``Config.dump`` ``cfg`` to ``path`` atomically: an interruption
    leaves none.

    One dump at a time: mmengine formats the file with yapf, which keeps
    its style in a global.
    """
    tmp = path[:-len('.py')] + '.tmp.py'
    with _DUMP_LOCK:
        cfg.dump(tmp)
    os.replace(tmp, path)


def check_datasets(jobs: Sequence[Job]) -> None:
    """Refuse jobs whose runs were started on another shapes dataset.

    A report must not mix two datasets: a run already started here (its
    ``CONFIG_FILE``) names the dataset the others must use too.

    Raises:
        ValueError: If a started run names another ``DATASET_KEY`` than the
            kit builds now, with the changed keys and the fix.
    """
    for job in jobs:
        recorded = read_recorded(job)
        if recorded is None:
            continue
        changes = config_changes(
            {DATASET_KEY: recorded.to_dict().get(DATASET_KEY)},
            {DATASET_KEY: job.cfg.to_dict().get(DATASET_KEY)})
        if changes:
            raise ValueError(
                f'{job.label} was started on another shapes dataset '
                f'({"; ".join(changes)}; recorded in {job.config_file}), '
                f'and a report must not mix the two. Give this dataset a '
                f'--work-dir of its own, or ask for the recorded one.')


def prepare_datasets(jobs: Sequence[Job], dry_run: bool) -> None:
    """Write the shapes datasets that unfinished jobs read, where missing
    (``ensure_config_dataset``); with ``dry_run``, say which would be.

    Raises:
        ValueError: If a dataset's folder holds one drawn otherwise.
    """
    seen: List[str] = []
    for job in jobs:
        dataset = dataset_of(job.cfg)
        if (dataset is None or dataset.root in seen
                or read_state(job.folder, METRICS_FILE) is not None):
            continue
        seen.append(dataset.root)
        if ensure_config_dataset(job.cfg, dry_run):
            print(f'# would write the shapes dataset to {dataset.root}'
                  if dry_run else
                  f'Wrote the shapes dataset to {dataset.root}.')


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


def train_command(run: Run, config: str, folder: str,
                  launch: Launch) -> Command:
    """Train ``config`` of ``run`` into ``<folder>/train``, resuming if it
    was started.

    ``--resume`` without a path resumes from the latest checkpoint in the
    work dir and starts afresh when there is none.
    """
    work_dir = osp.join(folder, 'train')
    gpus = str(launch.gpus or run.gpus)
    if launch.launcher == 'slurm':
        return Command([
            'bash', osp.join(TOOLS_DIR, 'slurm_train.sh'), launch.partition,
            run.name, config, work_dir, '--resume'
        ], dict(GPUS=gpus))
    env: Dict[str, str] = {}
    if launch.launcher == 'pytorch':
        argv = ['bash', osp.join(TOOLS_DIR, 'dist_train.sh'), config, gpus]
    else:
        argv = tool_command('train.py', config)
        env = launch.local_env()
    return Command(argv + ['--work-dir', work_dir, '--resume'], env)


def test_command(run: Run, config: str, checkpoint: str, folder: str,
                 launch: Launch) -> Command:
    """Test ``checkpoint`` with ``config`` of ``run`` into
    ``<folder>/test``."""
    work_dir = osp.join(folder, 'test')
    gpus = str(launch.gpus or run.gpus)
    env: Dict[str, str] = {}
    if launch.launcher == 'slurm':
        argv = [
            'bash', osp.join(TOOLS_DIR, 'slurm_test.sh'), launch.partition,
            run.name, config, checkpoint
        ]
        env = dict(GPUS=gpus)
    elif launch.launcher == 'pytorch':
        argv = [
            'bash', osp.join(TOOLS_DIR, 'dist_test.sh'), config, checkpoint,
            gpus
        ]
    else:
        argv = tool_command('test.py', config, checkpoint)
        env = launch.local_env()
    return Command(argv + ['--work-dir', work_dir], env)


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


def warn_if_changed(job: Job, recorded: Optional[Config],
                    trained: bool) -> None:
    """Warn when a run was started with another config than ``job.cfg``.

    The run keeps its own: a trained run its results, an interrupted one
    the config it resumes with. The warning lists the changed keys and says
    how to redo the run with the current settings.
    """
    redo = (f'delete {job.folder} to '
            f'{"train" if trained else "start"} it with the current settings.')
    if recorded is None:
        if trained:
            print_line(
                f'WARNING: {job.label} was trained without a recorded config '
                f'(an older kit): its settings cannot be compared with the '
                f'current ones. Its results are kept; {redo}',
                file=sys.stderr)
        return
    changes = config_changes(recorded.to_dict(), job.cfg.to_dict())
    if changes:
        kept = ('Its results are kept' if trained else
                'It resumes with the config it was started with')
        print_line(
            f'WARNING: {job.label} was {"trained" if trained else "started"} '
            f'with another config ({job.config_file}) than the one asked for '
            f'now:\n' + ''.join(f'  {change}\n' for change in changes) +
            f'{kept}; {redo}',
            file=sys.stderr)


def write_coupled_init(baseline: Job, rla: Job, dry_run: bool) -> None:
    """Write the twins' shared initial weights (``INIT_FILE``) at their
    seed, from the configs the kit built for them.

    Skipped for a pair whose two runs have both been trained or both have
    the file. See ``rla_lab.paper.coupling``.
    """
    jobs = (baseline, rla)
    if all(read_state(job.folder, TRAINED_FILE) or osp.isfile(job.init_file)
           for job in jobs):
        return
    if dry_run:
        print(f'# would write shared initial weights of seed {baseline.seed} '
              f'to {", ".join(job.init_file for job in jobs)}')
        return
    states = coupled_initial_states(baseline.cfg, rla.cfg, baseline.seed)
    for job, state in zip(jobs, (states['baseline'], states['rla'])):
        os.makedirs(job.folder, exist_ok=True)
        torch.save(state, job.init_file + '.tmp')
        os.replace(job.init_file + '.tmp', job.init_file)


def describe_dump(job: Job) -> str:
    """What a dry run says of a config it would dump: its file, where it
    would go, and what the kit changes in it."""
    changes = config_changes(job.source.to_dict(), job.cfg.to_dict())
    return '\n'.join(
        [f'# would dump {job.run.config} to {job.config_file}, changing:'] +
        [f'#   {change}' for change in changes])


def process_run(job: Job, launch: Launch, dry_run: bool) -> None:
    """Bring ``job`` to its next state: trained, then tested.

    Its config is dumped into its folder before it first trains, and both
    tools are launched with that file. With ``dry_run``, print what would
    be dumped and the commands that would run instead.
    """
    folder, label, config = job.folder, job.label, job.config_file
    trained = read_state(folder, TRAINED_FILE)
    recorded = read_recorded(job)
    warn_if_changed(job, recorded, trained is not None)
    if read_state(folder, METRICS_FILE) is not None:
        print_line(f'# {label}: finished, skipped')
        return
    if dry_run:
        print(f'# {label}')
        if recorded is None:
            print(describe_dump(job))
        if trained is not None:
            print(test_command(job.run, config, trained['checkpoint'],
                               folder, launch).shell())
            return
        print(train_command(job.run, config, folder, launch).shell())
        # The checkpoint is only known once training has finished: the
        # printed command has the shell read it then.
        placeholder = '@CHECKPOINT@'
        last = osp.join(folder, 'train', 'last_checkpoint')
        test = test_command(job.run, config, placeholder, folder, launch)
        print(test.shell().replace(placeholder, f'"$(cat {last})"'))
        return

    os.makedirs(folder, exist_ok=True)
    if recorded is None:
        dump_config(job.cfg, config)
    prefix = f'[{label}] ' if launch.side_by_side else None
    if trained is None:
        train = train_command(job.run, config, folder, launch)
        execute(train, f'Training {label}', prefix)
        with open(osp.join(folder, 'train', 'last_checkpoint')) as f:
            trained = dict(checkpoint=f.read().strip(), command=train.argv)
        write_state(folder, TRAINED_FILE, trained)
    test = test_command(job.run, config, trained['checkpoint'], folder,
                        launch)
    execute(test, f'Testing {label}', prefix)
    record = read_test_metrics(osp.join(folder, 'test'))
    write_state(folder, METRICS_FILE, record)


def check_pretrained(jobs: Sequence[Job]) -> Optional[str]:
    """Why the untrained ``jobs`` cannot start, or None if they can.

    Each RLA config needs the authors' ImageNet weights; finding one missing
    before the first run starts beats finding it after a day of training.
    """
    names: List[str] = []
    missing: List[MissingCheckpoint] = []
    for job in jobs:
        if job.run.name in names or read_state(job.folder, TRAINED_FILE):
            continue
        found = find_missing_checkpoints(job.cfg.model)
        if found:
            names.append(job.run.name)
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
