"""The paired-experiment kit: end to end on the demo pair, the configs it
builds, dumps and launches, resumability, seeds, dry runs for detection and
segmentation, and the report."""
import csv
import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import List, NamedTuple

import pytest
import torch
from matplotlib.image import imread
from mmengine.config import Config

from rla_lab.demo.shapes import ShapesConfig, read_generator_config
from rla_lab.demo.shapes_cls import CLS_SHAPES, read_cls_generator_config
from rla_lab.paper.catalog import DEMO_BACKBONE, DEMOS, DETECTORS, SEGMENTORS
from rla_lab.paper.coupling import rla_key
from rla_lab.paper.kit import (Pair, config_changes, find_pairs, plan_jobs,
                               run_dir, unique_runs, unreported_seeds,
                               write_report)
from rla_lab.utils.codebases import read_config
from rla_lab.utils.runs import REPO_ROOT, run_command, tool_command
from tools.paper import run_pairs

CONFIGS = str(Path(REPO_ROOT) / 'configs')
RUNS = ('mask_rcnn_r50_shapes', 'mask_rcnn_rla_r50_shapes')
# The kit's plumbing is what these tests check: both twins at 1/8 width.
NARROW = ('model.backbone.base_channels=8',
          'model.neck.in_channels=[32,64,128,256]')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# Keys of the config a tool runs that tools/train.py sets from its command
# line.
TOOL_KEYS = ('launcher', 'resume', 'work_dir')


def tiny_data(root: Path, num_train: int = 8, num_val: int = 2) -> List[str]:
    """``--cfg-options`` of a tiny shapes dataset in ``root``."""
    return [f'shapes_dataset.root={root}',
            f'shapes_dataset.num_train={num_train}',
            f'shapes_dataset.num_val={num_val}']


def dumped(folder: Path) -> Config:
    """The config the kit dumped into a run's folder."""
    return Config.fromfile(str(folder / 'config.py'))


def without_tool_keys(cfg: Config) -> dict:
    """``cfg`` as a dict, less what tools/train.py sets (``TOOL_KEYS``)."""
    return {k: v for k, v in cfg.to_dict().items() if k not in TOOL_KEYS}


def commands(stdout: str) -> List[str]:
    """The tool commands the kit ran, as it echoed them."""
    return [line for line in stdout.splitlines() if line.startswith('+ ')]


class KitRun(NamedTuple):
    """Where a demo run of the kit wrote, and the command that ran it."""
    work_dir: Path
    command: List[str]
    stdout: str


def run_kit(args: List[str], cwd: Path):
    """``tools/paper/run_pairs.py`` with ``args``, one thread per process.
    """
    proc = run_command(tool_command('paper/run_pairs.py', *args),
                       env=dict(OMP_NUM_THREADS='1'), cwd=cwd,
                       capture_output=True, timeout=600, check=False,
                       echo=False)
    if proc.returncode != 0:
        pytest.fail(f'run_pairs.py {" ".join(args)} exited with '
                    f'{proc.returncode}:\n{proc.stdout[-3000:]}\n'
                    f'{proc.stderr[-3000:]}')
    return proc


def train_starts(work_dir: Path, run: str) -> int:
    """How many times training of ``run``, seed 0, was started."""
    return len(list((work_dir / run / 'seed_0' / 'train').glob('*_*/')))


@pytest.fixture(scope='module')
def demo_kit(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    """The kit in demo mode: 8 + 2 images, 2 iterations per model, seed 0.
    """
    root = tmp_path_factory.mktemp('kit')
    work_dir = root / 'pairs'
    command = [
        '--demo', 'det', '--jobs', '2', '--work-dir',
        str(work_dir), '--cfg-options', *tiny_data(root / 'data'),
        'train_cfg.max_iters=2', *NARROW
    ]
    proc = run_kit(command, root)
    return KitRun(work_dir, command, proc.stdout)


def test_demo_writes_tables_and_plot(demo_kit: KitRun):
    work_dir = demo_kit.work_dir
    for run in RUNS:
        assert train_starts(work_dir, run) == 1
        metrics = json.loads(
            (work_dir / run / 'seed_0' / 'metrics.json').read_text())
        assert 0 <= metrics['coco/bbox_mAP'] <= 1
        assert 0 <= metrics['coco/segm_mAP'] <= 1
        # Trained with seed 0, which the config it ran holds.
        assert dumped(work_dir / run / 'seed_0').randomness.seed == 0

    with open(work_dir / 'pairs.csv') as f:
        rows = list(csv.DictReader(f))
    # One row per metric of the one pair; no paper numbers for the demo.
    assert [r['metric'] for r in rows][:2] == ['coco/bbox_mAP',
                                                'coco/bbox_mAP_50']
    box = rows[0]
    assert (box['baseline'], box['rla'], box['n']) == ('R-50', 'RLA-R-50',
                                                        '1')
    assert box['ci_low'] == '' and box['paper_rla'] == ''
    assert float(box['delta_mean']) == pytest.approx(
        float(box['rla_mean']) - float(box['baseline_mean']))
    with open(work_dir / 'pairs_seeds.csv') as f:
        seeds = list(csv.DictReader(f))
    assert {s['seed'] for s in seeds} == {'0'}

    markdown = (work_dir / 'pairs.md').read_text()
    assert '**Single seed (n = 1).**' in markdown
    assert markdown in demo_kit.stdout
    # The protocol and the pair are stated before the first run starts.
    stdout = demo_kit.stdout
    first_command = stdout.index('\n+ ')
    assert stdout.index('# Protocol, fixed before the runs') < first_command
    assert stdout.index('mask_rcnn_rla_r50_shapes vs mask_rcnn_r50_shapes'
                        ) < first_command

    image = imread(work_dir / 'pairs.png')
    assert image.ndim == 3 and min(image.shape[:2]) > 100


def test_runs_launch_their_dumped_config(demo_kit: KitRun):
    """Each run's folder holds the config the kit built for it (the user's
    options merged, the seed set, the dataset's folder in every
    dataloader), and both tools ran that file with no --cfg-options: the
    config training ran, as mmengine's runner saved it, is the dumped one
    but for what train.py sets from its own options."""
    data_root = str(demo_kit.work_dir.parent / 'data')
    assert len(commands(demo_kit.stdout)) == 4
    assert not any('--cfg-options' in c for c in commands(demo_kit.stdout))
    for run in RUNS:
        folder = demo_kit.work_dir / run / 'seed_0'
        cfg = dumped(folder)
        assert cfg.train_cfg.max_iters == 2
        assert cfg.model.backbone.base_channels == 8
        assert cfg.shapes_dataset.root == data_root
        assert {cfg[loader].dataset.data_root for loader in LOADERS} == {
            data_root}
        launched = [c for c in commands(demo_kit.stdout)
                    if f' {folder}/config.py ' in c]
        assert [('train.py' in c, 'test.py' in c) for c in launched] == [
            (True, False), (False, True)]
        trained = json.loads((folder / 'trained.json').read_text())
        assert str(folder / 'config.py') in trained['command']
        assert '--cfg-options' not in trained['command']
        ran = Config.fromfile(str(folder / 'train' / 'config.py'))
        assert without_tool_keys(ran) == without_tool_keys(cfg)


def test_finished_runs_are_not_run_again(demo_kit: KitRun):
    """A second call only rewrites the report; a changed setting is
    reported by its key, not silently mixed in."""
    proc = run_kit(demo_kit.command + ['default_hooks.logger.interval=1'],
                   demo_kit.work_dir.parent)
    for run in RUNS:
        assert f'# {run}, seed 0: finished, skipped' in proc.stdout
        assert train_starts(demo_kit.work_dir, run) == 1
        assert (f'WARNING: {run}, seed 0 was trained with another config '
                f'({demo_kit.work_dir / run}/seed_0/config.py)') in (
                    proc.stderr)
    # The one key that changed, and nothing else.
    assert [line for line in proc.stderr.splitlines()
            if line.startswith('  ')] == [
                '  default_hooks.logger.interval: 10 -> 1'] * 2
    assert 'Its results are kept; delete ' in proc.stderr
    assert '\n+ ' not in proc.stdout


def test_work_dir_keeps_to_its_dataset(demo_kit: KitRun, tmp_path: Path,
                                       capsys):
    """Runs on one shapes dataset refuse a command that would draw another
    into their work dir, before it rewrites the data, and so does the
    dataset's folder in another work dir; a dry run in a new work dir
    writes nothing."""
    data_root = demo_kit.work_dir.parent / 'data'
    drawn = read_generator_config(str(data_root))
    other = [*tiny_data(data_root, num_train=9),
             'shapes_dataset.min_radius=0.1', 'shapes_dataset.max_radius=0.4']
    with pytest.raises(SystemExit, match=(
            r'shapes_dataset.num_train: 8 -> 9; shapes_dataset.max_radius: '
            r'0.25 -> 0.4; recorded in .*/mask_rcnn_r50_shapes/seed_0/'
            r'config.py\)')):
        run_pairs.main(['--demo', 'det', '--work-dir',
                        str(demo_kit.work_dir), '--cfg-options', *other])
    with pytest.raises(SystemExit, match=(
            r'holds a shapes dataset drawn with other parameters .*'
            r'\(num_train: 8 -> 9, max_radius: 0.25 -> 0.4\)')):
        run_pairs.main(['--demo', 'det', '--work-dir', str(tmp_path / 'new'),
                        '--cfg-options', *other])
    assert read_generator_config(str(data_root)) == drawn
    assert not (tmp_path / 'new').exists()
    run_pairs.main([
        '--dry-run', '--demo', 'det', '--work-dir',
        str(tmp_path / 'pairs'), '--cfg-options',
        *tiny_data(tmp_path / 'data', num_train=9)
    ])
    assert ('would write the shapes dataset to '
            f'{tmp_path / "data"}') in capsys.readouterr().out
    assert not (tmp_path / 'pairs').exists()
    assert not (tmp_path / 'data').exists()


def test_interrupted_run_resumes_where_it_stopped(demo_kit: KitRun):
    """Stopped after training, before testing: only the test runs."""
    metrics_file = demo_kit.work_dir / RUNS[1] / 'seed_0' / 'metrics.json'
    metrics_file.unlink()
    proc = run_kit(demo_kit.command, demo_kit.work_dir.parent)
    ran = commands(proc.stdout)
    assert len(ran) == 1 and 'tools/test.py' in ran[0]
    assert f'{metrics_file.parent}/config.py' in ran[0]
    assert metrics_file.is_file()
    assert train_starts(demo_kit.work_dir, RUNS[1]) == 1
    # The same options build the same configs: nothing is reported.
    assert 'with another config' not in proc.stderr


def test_segmentation_demo_pair(tmp_path: Path):
    """``--demo`` alone is the Semantic FPN pair: mIoU, mAcc and aAcc of
    both twins from the shapes dataset's label maps, here of shapes drawn
    with the radii set in its ``shapes_dataset``."""
    proc = run_kit([
        '--demo', '--jobs', '2', '--work-dir',
        str(tmp_path / 'pairs'), '--cfg-options',
        *tiny_data(tmp_path / 'data'), 'shapes_dataset.min_radius=0.2',
        'shapes_dataset.max_radius=0.4', 'train_cfg.max_iters=2', *NARROW
    ], tmp_path)
    # Two runs at a time, the cores shared between them.
    threads = max(1, (os.cpu_count() or 1) // 2)
    ran = commands(proc.stdout)
    assert len(ran) == 4
    assert all(c.startswith(f'+ OMP_NUM_THREADS={threads} ') for c in ran)
    assert 'Semantic FPN, shapes demo: fpn_rla_r50_shapes_seg vs ' \
        'fpn_r50_shapes_seg' in proc.stdout
    for run in ('fpn_r50_shapes_seg', 'fpn_rla_r50_shapes_seg'):
        metrics = json.loads((tmp_path / 'pairs' / run / 'seed_0' /
                              'metrics.json').read_text())
        assert {'mIoU', 'mAcc', 'aAcc'} <= set(metrics)
        assert 0 <= metrics['mIoU'] <= 100
    with open(tmp_path / 'pairs' / 'pairs.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['metric'] for r in rows] == ['mIoU', 'mAcc', 'aAcc']
    assert rows[0]['n'] == '1' and rows[0]['ci_low'] == ''
    assert read_generator_config(str(tmp_path / 'data')) == ShapesConfig(
        num_train=8, num_val=2, min_radius=0.2, max_radius=0.4)


def test_classification_demo_pair(tmp_path: Path):
    """``--demo cls`` writes the classification demo's class folders, with
    the splits' sizes set in its ``shapes_dataset``, and points both twins
    at them; it reports top-1 accuracy. With ``--couple-init`` the twins
    start from shared weights, so after two steps at the warm-up's lr
    (1e-5, then 3e-5) the tensors they share are still all but equal,
    where two draws differ by their whole spread. Both twins at full width:
    their heads read 2048 and 2048 + 32 features."""
    data_root = tmp_path / 'data'
    proc = run_kit([
        '--demo', 'cls', '--jobs', '2', '--couple-init', '--work-dir',
        str(tmp_path / 'pairs'), '--cfg-options',
        *tiny_data(data_root, num_train=10, num_val=20),
        'train_cfg.max_iters=2', 'train_dataloader.batch_size=4',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.save_optimizer=False'
    ], tmp_path)
    assert 'Classification, shapes demo: cls_rla_r50_shapes vs ' \
        'cls_r50_shapes' in proc.stdout
    assert read_cls_generator_config(str(data_root)) == replace(
        CLS_SHAPES, num_train=10, num_val=20)
    for run in ('cls_r50_shapes', 'cls_rla_r50_shapes'):
        cfg = dumped(tmp_path / 'pairs' / run / 'seed_0')
        assert {cfg[loader].dataset.data_root for loader in LOADERS} == {
            str(data_root)}
    for run in ('cls_r50_shapes', 'cls_rla_r50_shapes'):
        metrics = json.loads((tmp_path / 'pairs' / run / 'seed_0' /
                              'metrics.json').read_text())
        # 20 val images: a multiple of 5 percent.
        assert metrics['accuracy/top1'] % 5 == 0
        assert 0 <= metrics['accuracy/top1'] <= 100
    with open(tmp_path / 'pairs' / 'pairs.csv') as f:
        rows = list(csv.DictReader(f))
    assert [r['metric'] for r in rows] == ['accuracy/top1', 'accuracy/top5']
    report = (tmp_path / 'pairs' / 'pairs.md').read_text()
    assert '## Classification: mean over seeds' in report
    assert 'Shared initial weights (`--couple-init`)' in report
    trained = []
    for run in ('cls_r50_shapes', 'cls_rla_r50_shapes'):
        folder = tmp_path / 'pairs' / run / 'seed_0'
        # The config's own hook, then the shared start from the twin's
        # initial weights, in the config that trained.
        assert dumped(folder).custom_hooks == [
            dict(type='RNGStateHook'),
            dict(type='SharedStartHook', checkpoint=f'{folder}/init.pth',
                 seed=0)
        ]
        trained.append(torch.load(folder / 'train' / 'iter_2.pth',
                                  weights_only=True)['state_dict'])
    baseline, rla = trained
    for key in ('backbone.conv1.weight', 'backbone.layer4.2.conv3.weight',
                'head.fc.weight'):
        shared = rla[rla_key(key)][:, :baseline[key].shape[1]]
        # Two Adam steps move a weight by about the lr each.
        torch.testing.assert_close(shared, baseline[key], rtol=0,
                                   atol=5e-4)
        assert baseline[key].std() > 5e-3


def fake_run(work_dir: Path, pair: Pair, twin: str, seed: int,
             mIoU: float) -> None:
    """The files a finished segmentation run leaves, with one mIoU."""
    folder = Path(run_dir(str(work_dir), getattr(pair, twin), seed))
    folder.mkdir(parents=True)
    (folder / 'metrics.json').write_text(json.dumps(
        dict(mIoU=mIoU, mAcc=mIoU + 10, aAcc=80.0)))
    scalars = folder / 'train' / '20240101_000000' / 'vis_data'
    scalars.mkdir(parents=True)
    (scalars / 'scalars.json').write_text(''.join(
        json.dumps(r) + '\n' for r in (dict(loss=2.0, step=10),
                                       dict(mIoU=mIoU, step=1))))


def test_report_over_seeds(tmp_path: Path):
    """Three seeds of a segmentation pair: the interval and its reading;
    a finished seed left out of --seeds is found."""
    (pair, ), _ = find_pairs([SEGMENTORS['upernet']], ['rla_r50'], CONFIGS)
    for seed, (baseline, rla) in enumerate(
            ((40.0, 41.0), (41.0, 41.8), (39.0, 40.2), (10.0, 90.0))):
        fake_run(tmp_path, pair, 'baseline', seed, baseline)
        fake_run(tmp_path, pair, 'rla', seed, rla)
    paths = write_report([pair], [0, 1, 2], str(tmp_path), None, 0.95)
    markdown = Path(paths[0]).read_text()
    # Deltas 1.0, 0.8, 1.2: mean 1.0, sd 0.2, 95% half width 0.50.
    (row, ) = [line for line in markdown.splitlines() if '| mIoU ' in line
               and 'vs' in line]
    assert '| +1.00 ' in row and '[+0.50, +1.50]' in row
    assert '| RLA higher' in row
    assert unreported_seeds(unique_runs([pair]), [0, 1, 2],
                            str(tmp_path)) == {
        'upernet_r50_160k_ade20k': [3], 'upernet_rla_r50_160k_ade20k': [3]}


def dump_block(out: str, source: str, folder: Path) -> List[str]:
    """What a dry run says it would change in ``source`` (a path under
    ``configs/``), dumped into ``folder``: one ``key: old -> new`` a line.
    """
    lines = out.splitlines()
    start = lines.index(f'# would dump {CONFIGS}/{source} to '
                        f'{folder}/config.py, changing:') + 1
    block = []
    for line in lines[start:]:
        if not line.startswith('#   '):
            break
        block.append(line[len('#   '):])
    return block


def trained_configs(out: str) -> List[str]:
    """``<config name> <GPUs>`` of each dist_train.sh line of a dry run."""
    return [
        ' '.join(re.search(r'/([^/ ]+)/seed_\d+/config\.py (\d+) ',
                           line).groups())
        for line in out.splitlines()
        if line.startswith('bash') and 'dist_train.sh' in line
    ]


def test_dry_run_prints_the_commands_of_every_seed(tmp_path: Path, capsys,
                                                   monkeypatch):
    # Where the RLA configs look for their ImageNet weights: nothing there.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv('RLA_CHECKPOINT_DIR', raising=False)
    work_dir = tmp_path / 'pairs'
    run_pairs.main([
        '--dry-run', '--detectors', 'retinanet', '--backbones', 'rla_r50',
        'eca_rla_r50', '--seeds', '0', '1', '--work-dir',
        str(work_dir)
    ])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith('bash')]
    # Per seed: the shared baseline once, then each RLA model, each trained
    # then tested.
    runs = ('retinanet_r50', 'retinanet_rla_r50', 'retinanet_eca_rla_r50')
    assert len(lines) == 2 * 2 * len(runs)
    for index, (seed, run) in enumerate(
            (seed, run) for seed in (0, 1) for run in runs):
        train, test = lines[2 * index:2 * index + 2]
        folder = work_dir / run / f'seed_{seed}'
        # The run's config, with its seed, dumped into its folder: both
        # tools run that file, with nothing on the command line.
        assert dump_block(out, f'{run}.py', folder) == [
            f'randomness.seed: (absent) -> {seed}']
        assert 'dist_train.sh' in train
        assert train.endswith(
            f'{folder}/config.py 8 --work-dir {folder}/train --resume')
        assert 'dist_test.sh' in test
        assert f'{folder}/config.py "$(cat {folder}/train/last_checkpoint)"' \
            f' 8 --work-dir {folder}/test' in test
        assert test.endswith(f'--work-dir {folder}/test')
    # The RLA models cannot start without their weights: said up front.
    assert 'resnet50_rla_2283.pth.tar' in out
    assert 'ecanet50_rla_2215.pth.tar' in out
    assert not work_dir.exists()


def test_dry_run_with_shared_initial_weights(tmp_path: Path, capsys,
                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    work_dir = tmp_path / 'pairs'
    run_pairs.main(['--dry-run', '--demo', 'cls', '--couple-init',
                    '--seeds', '3', '--work-dir', str(work_dir)])
    out = capsys.readouterr().out
    runs = ('cls_r50_shapes', 'cls_rla_r50_shapes')
    folders = [work_dir / run / 'seed_3' for run in runs]
    assert (f'# would write shared initial weights of seed 3 to '
            f'{folders[0]}/init.pth, {folders[1]}/init.pth') in out
    # The classification pair's own dataset folder, not seg's and det's.
    assert ('# would write the shapes dataset to '
            f'{tmp_path}/data/demo_shapes_cls_pairs\n') in out
    for run, folder in zip(runs, folders):
        block = dump_block(out, f'demo/pairs/{run}.py', folder)
        # Each twin starts from its own initial weights.
        assert [line for line in block if line.startswith('custom_hooks')
                ] == ["custom_hooks.1.type: (absent) -> 'SharedStartHook'",
                      f"custom_hooks.1.checkpoint: (absent) -> "
                      f"'{folder}/init.pth'",
                      'custom_hooks.1.seed: (absent) -> 3']
        assert 'randomness.seed: 0 -> 3' in block
    trains = [line for line in out.splitlines() if 'train.py' in line]
    assert [f' {f}/config.py ' in t for f, t in zip(folders, trains)] == [
        True, True]
    assert not work_dir.exists()
    assert not (tmp_path / 'data').exists()


def test_shared_start_keeps_the_configs_own_hooks(tmp_path: Path):
    """With --couple-init, SharedStartHook is appended to the config's
    custom_hooks: the classification demo's RNGStateHook stays."""
    (pair, ), _ = find_pairs([DEMOS['cls']], [DEMO_BACKBONE], CONFIGS)
    runs = unique_runs([pair])
    for coupled in (False, True):
        for job in plan_jobs(runs, [0, 4], str(tmp_path), {}, coupled):
            shared = [dict(type='SharedStartHook',
                           checkpoint=f'{job.folder}/init.pth',
                           seed=job.seed)]
            assert job.cfg.custom_hooks == [dict(type='RNGStateHook')] + (
                shared if coupled else [])
            assert job.cfg.randomness.seed == job.seed
            # The config file as read is left alone.
            assert job.source.custom_hooks == [dict(type='RNGStateHook')]


def test_config_changes_are_listed_by_dotted_key():
    old = dict(a=dict(b=1, c=[1, 2]), hooks=[dict(type='X')], gone=3,
               empty={})
    new = dict(a=dict(b=2, c=[1, 2]), hooks=[dict(type='X'),
                                             dict(type='Y', seed=0)],
               empty=dict(d='e'))
    assert config_changes(old, new) == [
        'a.b: 1 -> 2', "hooks.1.type: (absent) -> 'Y'",
        'hooks.1.seed: (absent) -> 0', "empty.d: (absent) -> 'e'",
        'gone: 3 -> (absent)', 'empty: {} -> (absent)'
    ]
    assert config_changes(new, new) == []


def test_the_demo_pairs_are_the_demo_configs_on_their_datasets():
    """Each --demo pair's twins differ only in the model, the RLA twin's
    being the demo's RLA model; the seg-4x pair is the seg pair at 2800
    iterations."""
    demo = Path(CONFIGS) / 'demo'
    for key, family in DEMOS.items():
        (pair, ), missing = find_pairs([family], [DEMO_BACKBONE], CONFIGS)
        assert not missing, key
        baseline, rla = (read_config(run.config).to_dict()
                         for run in (pair.baseline, pair.rla))
        assert baseline.pop('model') != rla['model']
        demo_rla = read_config(str(demo / (pair.rla.name.replace(
            '_4x', '').replace('_train1600', '') + '.py')))
        assert rla.pop('model') == demo_rla.to_dict()['model'], key
        rla.pop('rla_channels', None)
        assert rla == baseline, key
    seg, seg_4x = (read_config(f'{CONFIGS}/demo/pairs/{name}.py')
                   for name in ('fpn_r50_shapes_seg', 'fpn_r50_shapes_seg_4x'))
    assert (seg.train_cfg.max_iters, seg_4x.train_cfg.max_iters) == (700,
                                                                   2800)
    assert seg_4x.train_cfg.val_interval == 2800
    assert seg_4x.default_hooks.checkpoint.interval == 2800


def test_dry_run_of_segmentation_pairs(tmp_path: Path, capsys):
    run_pairs.main([
        '--dry-run', '--segmentors', 'upernet', 'deeplabv3plus',
        '--backbones', 'rla_r50', '--work-dir',
        str(tmp_path)
    ])
    out = capsys.readouterr().out
    # mmseg's recipes are 4-GPU batches.
    names = ['upernet_r50_160k_ade20k', 'upernet_rla_r50_160k_ade20k',
             'deeplabv3plus_r50_d8_80k_cityscapes',
             'deeplabv3plus_rla_r50_d8_80k_cityscapes']
    assert trained_configs(out) == [f'{name} 4' for name in names]
    for name in names:
        assert dump_block(out, f'{name}.py', tmp_path / name / 'seed_0')


def test_dry_run_of_imagenet_pairs(tmp_path: Path, capsys):
    """The ImageNet pairs, named: 8-GPU batches, and the paper's top-1 and
    top-5 beside them; without --classifiers none is run."""
    run_pairs.main([
        '--dry-run', '--classifiers', 'imagenet', '--backbones', 'rla_r50',
        'eca_rla_r101', '--work-dir', str(tmp_path)
    ])
    out = capsys.readouterr().out
    names = ['r50_8xb32_in1k', 'rla_r50_8xb32_in1k', 'r101_8xb32_in1k',
             'eca_rla_r101_8xb32_in1k']
    assert trained_configs(out) == [f'{name} 8' for name in names]
    for name in names:
        assert dump_block(out, f'imagenet/{name}.py',
                          tmp_path / name / 'seed_0')
    run_pairs.main(['--dry-run', '--work-dir', str(tmp_path)])
    assert 'imagenet/' not in capsys.readouterr().out


def test_dry_run_with_slurm(tmp_path: Path, capsys):
    run_pairs.main([
        '--dry-run', '--launcher', 'slurm', '--partition', 'gpu', '--gpus',
        '16', '--detectors', 'faster_rcnn', '--backbones', 'rla_r101',
        '--work-dir',
        str(tmp_path), '--cfg-options', 'env_cfg.dist_cfg.backend=gloo'
    ])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith('GPUS=')]
    assert len(lines) == 4
    folder = tmp_path / 'faster_rcnn_r101' / 'seed_0'
    assert lines[0].startswith('GPUS=16 bash ')
    assert 'slurm_train.sh gpu faster_rcnn_r101 ' in lines[0]
    assert lines[0].endswith(
        f'{folder}/config.py {folder}/train --resume')
    # The user's option and the seed are in the config the tools run.
    assert dump_block(out, 'faster_rcnn_r101.py', folder) == [
        "env_cfg.dist_cfg.backend: 'nccl' -> 'gloo'",
        'randomness.seed: (absent) -> 0'
    ]
    assert 'slurm_test.sh gpu faster_rcnn_r101 ' in lines[1]


@pytest.mark.parametrize('args, message', [
    (['--launcher', 'slurm'], 'needs --partition'),
    (['--seeds', '0', '0'], 'lists a seed twice'),
    (['--cfg-options', 'randomness.seed=3'], 'with --seeds'),
    (['--confidence', '95'], 'must be in'),
    (['--demo', '--detectors', 'retinanet'], '--demo has one pair'),
    (['--jobs', '2'], 'only with --launcher none'),
    (['--demo', '--jobs', '0'], 'must be 1 or more'),
    (['--couple-init'], 'for pairs trained from scratch'),
    (['--cfg-options', 'shapes_dataset.min_radius=0.2'],
     'the generated dataset of the demo pairs (--demo)'),
])
def test_bad_arguments_are_refused(args: List[str], message: str, capsys):
    with pytest.raises(SystemExit):
        run_pairs.parse_args(args)
    assert message in capsys.readouterr().err


@pytest.mark.parametrize('demo, options, message', [
    ('seg', ['shapes_dataset.min_radius=0.4', 'shapes_dataset.max_radius=0.2'],
     'need 0 < min_radius <= max_radius <= 0.5, got 0.4 and 0.2'),
    ('seg', ['shapes_dataset.min_radius=0.2', 'shapes_dataset.max_radius=0.6'],
     'need 0 < min_radius <= max_radius <= 0.5, got 0.2 and 0.6'),
    ('cls', ['shapes_dataset.max_objects=2'],
     'a classification image holds one shape'),
])
def test_bad_datasets_are_refused_before_any_run(demo: str,
                                                  options: List[str],
                                                  message: str,
                                                  tmp_path: Path):
    with pytest.raises(SystemExit) as error:
        run_pairs.main(['--dry-run', '--demo', demo, '--work-dir',
                        str(tmp_path), '--cfg-options', *options])
    assert message in str(error.value)
    assert 'configs/demo/pairs/' in str(error.value)


def test_pairs_share_their_baseline_and_skip_missing_configs():
    pairs, missing = find_pairs(
        [DETECTORS['mask_rcnn'], SEGMENTORS['fpn']],
        ['rla_r50', 'eca_rla_r50', 'rla_r101'], CONFIGS)
    assert [run.name for run in unique_runs(pairs)] == [
        'mask_rcnn_r50', 'mask_rcnn_rla_r50', 'mask_rcnn_eca_rla_r50',
        'mask_rcnn_r101', 'mask_rcnn_rla_r101', 'fpn_r50_160k_ade20k',
        'fpn_rla_r50_160k_ade20k', 'fpn_eca_rla_r50_160k_ade20k'
    ]
    # Semantic FPN has no R-101 configs.
    assert missing == ['fpn_r101_160k_ade20k', 'fpn_rla_r101_160k_ade20k']
    for run in unique_runs(pairs):
        assert Path(run.config).is_file()
