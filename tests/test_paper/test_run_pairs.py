"""The paired-experiment kit: end to end on the demo pair, resumability,
dry runs, and the table it writes."""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import List, NamedTuple

import pytest
from matplotlib.image import imread

KIT_DIR = Path(__file__).resolve().parents[2] / 'tools' / 'paper'
RUNS = ('mask_rcnn_r50_shapes', 'mask_rcnn_rla_r50_shapes')


class KitRun(NamedTuple):
    """Where a demo run of the kit wrote, and the command that ran it."""
    work_dir: Path
    command: List[str]
    stdout: str


def run_kit(args: List[str], cwd: Path) -> subprocess.CompletedProcess:
    """``tools/paper/run_pairs.py`` with ``args``, one thread per process.
    """
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, str(KIT_DIR / 'run_pairs.py')] +
                          args, cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    if proc.returncode != 0:
        pytest.fail(f'run_pairs.py {" ".join(args)} exited with '
                    f'{proc.returncode}:\n{proc.stdout[-3000:]}\n'
                    f'{proc.stderr[-3000:]}')
    return proc


def train_starts(work_dir: Path, run: str) -> int:
    """How many times training of ``run`` was started (one folder each)."""
    return len(list((work_dir / run / 'train').glob('*_*/')))


@pytest.fixture(scope='module')
def demo_kit(tmp_path_factory: pytest.TempPathFactory) -> KitRun:
    """The kit in demo mode: 8 + 2 images, 2 iterations per model."""
    root = tmp_path_factory.mktemp('kit')
    work_dir = root / 'pairs'
    command = [
        '--demo', '--demo-images', '8', '2', '--demo-data-root',
        str(root / 'data'), '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_iters=2'
    ]
    proc = run_kit(command, root)
    return KitRun(work_dir, command, proc.stdout)


def test_demo_writes_table_csv_and_plot(demo_kit: KitRun):
    work_dir = demo_kit.work_dir
    for run in RUNS:
        assert train_starts(work_dir, run) == 1
        metrics = json.loads((work_dir / run / 'metrics.json').read_text())
        assert 0 <= metrics['bbox_mAP'] <= 1
        assert 0 <= metrics['segm_mAP'] <= 1

    with open(work_dir / 'pairs.csv') as f:
        rows = list(csv.DictReader(f))
    # Baseline, RLA, difference; the paper has no demo numbers.
    assert [(r['backbone'], r['source']) for r in rows] == [
        ('R-50', 'ours'), ('RLA-R-50', 'ours'),
        ('RLA-R-50 - R-50', 'ours, delta')
    ]
    baseline, rla, delta = rows
    for key in ('bbox_mAP', 'bbox_mAP_50', 'segm_mAP'):
        assert 0 <= float(baseline[key]) <= 100
        assert float(delta[key]) == pytest.approx(
            float(rla[key]) - float(baseline[key]), abs=0.051)

    markdown = (work_dir / 'pairs.md').read_text()
    table = [line for line in markdown.splitlines() if line.startswith('|')]
    assert table[0].split('|')[1:-1] == [
        ' Detector ', ' Backbone ', ' Source ', ' box AP ', ' AP50 ',
        ' AP75 ', ' APs ', ' APm ', ' APl ', ' mask AP '
    ]
    assert len(table) == 2 + len(rows)
    assert markdown in demo_kit.stdout

    image = imread(work_dir / 'pairs.png')
    assert image.ndim == 3 and min(image.shape[:2]) > 100


def test_finished_runs_are_not_run_again(demo_kit: KitRun):
    """A second call only rewrites the report; a changed setting is
    reported, not silently mixed in."""
    proc = run_kit(
        demo_kit.command + ['randomness.seed=1'], demo_kit.work_dir.parent)
    for run in RUNS:
        assert f'# {run}: finished, skipped' in proc.stdout
        assert train_starts(demo_kit.work_dir, run) == 1
        assert f'WARNING: {run} was trained with a different command' in (
            proc.stderr)
    assert '\n+ ' not in proc.stdout


def test_interrupted_run_resumes_where_it_stopped(demo_kit: KitRun):
    """Stopped after training, before testing: only the test runs."""
    metrics_file = demo_kit.work_dir / RUNS[1] / 'metrics.json'
    metrics_file.unlink()
    proc = run_kit(demo_kit.command, demo_kit.work_dir.parent)
    commands = [line for line in proc.stdout.splitlines()
                if line.startswith('+ ')]
    assert len(commands) == 1 and 'tools/test.py' in commands[0]
    assert metrics_file.is_file()
    assert train_starts(demo_kit.work_dir, RUNS[1]) == 1


def test_dry_run_prints_the_commands(run_pairs: ModuleType, tmp_path: Path,
                                     capsys, monkeypatch):
    # Where the RLA configs look for their ImageNet weights: nothing there.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv('RLA_CHECKPOINT_DIR', raising=False)
    work_dir = tmp_path / 'pairs'
    run_pairs.main([
        '--dry-run', '--detectors', 'retinanet', '--backbones', 'rla_r50',
        'eca_rla_r50', '--work-dir',
        str(work_dir)
    ])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith('bash')]
    # The shared baseline once, then each RLA model: train, then test.
    runs = ('retinanet_r50', 'retinanet_rla_r50', 'retinanet_eca_rla_r50')
    assert len(lines) == 2 * len(runs)
    for index, run in enumerate(runs):
        train, test = lines[2 * index:2 * index + 2]
        run_dir = work_dir / run
        assert train.startswith('bash ') and 'dist_train.sh' in train
        assert f'configs/{run}.py 8 --work-dir {run_dir}/train --resume' in (
            train)
        assert 'dist_test.sh' in test
        assert f'"$(cat {run_dir}/train/last_checkpoint)" 8' in test
    # The RLA models cannot start without their weights: said up front.
    assert 'resnet50_rla_2283.pth.tar' in out
    assert 'ecanet50_rla_2215.pth.tar' in out
    assert not work_dir.exists()


def test_dry_run_with_slurm(run_pairs: ModuleType, tmp_path: Path, capsys):
    run_pairs.main([
        '--dry-run', '--launcher', 'slurm', '--partition', 'gpu', '--gpus',
        '16', '--detectors', 'faster_rcnn', '--backbones', 'rla_r101',
        '--work-dir',
        str(tmp_path), '--cfg-options', 'env_cfg.dist_cfg.backend=gloo'
    ])
    lines = [
        line for line in capsys.readouterr().out.splitlines()
        if line.startswith('GPUS=')
    ]
    assert len(lines) == 4
    assert lines[0].startswith('GPUS=16 bash ')
    assert 'slurm_train.sh gpu faster_rcnn_r101 ' in lines[0]
    assert lines[0].endswith(
        '--resume --cfg-options env_cfg.dist_cfg.backend=gloo')
    assert 'slurm_test.sh gpu faster_rcnn_r101 ' in lines[1]


def test_slurm_needs_a_partition(run_pairs: ModuleType):
    with pytest.raises(SystemExit):
        run_pairs.parse_args(['--launcher', 'slurm'])


def test_pairs_share_their_baseline(run_pairs: ModuleType):
    pairs = [
        run_pairs.coco_pair('mask_rcnn', backbone)
        for backbone in ('rla_r50', 'eca_rla_r50', 'rla_r101')
    ]
    names = [run.name for run in run_pairs.unique_runs(pairs)]
    assert names == [
        'mask_rcnn_r50', 'mask_rcnn_rla_r50', 'mask_rcnn_eca_rla_r50',
        'mask_rcnn_r101', 'mask_rcnn_rla_r101'
    ]
    for run in run_pairs.unique_runs(pairs):
        assert os.path.isfile(run.config)
