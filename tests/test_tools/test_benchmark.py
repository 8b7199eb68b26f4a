"""The backbone benchmark: its statistics, and a smoke run on tiny inputs."""
import itertools
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from tools.analysis import benchmark_backbone

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools/analysis/benchmark_backbone.py'


@pytest.fixture
def bench():
    return benchmark_backbone


def test_ratio_is_median_of_per_round_ratios(bench):
    # Round 2 ran on a slow machine for both models: the per-round ratio
    # (1.0) is right, while the ratio of medians (3 / 2) would be 1.5.
    times = {'rla': [2.0, 8.0, 3.0], 'resnet': [1.0, 8.0, 2.0]}
    summary = bench.summarize_rounds(times)
    assert summary['rla'] == 3.0 and summary['resnet'] == 2.0
    assert summary['ratio'] == 1.5
    assert (summary['ratio_min'], summary['ratio_max']) == (1.0, 2.0)
    table = bench.format_table('t', {'inference (s)': summary})
    assert '1.500' in table and '1.000-2.000' in table


def test_alternates_order_between_rounds(bench):
    calls = []
    fns = {'rla': lambda: calls.append('rla'),
           'resnet': lambda: calls.append('resnet')}
    times = bench.time_alternating(fns, repeats=3, warmup=0)
    # Each measurement is a run of calls (the Timer's warm-up, then the
    # timed ones): rounds RLA-ResNet, ResNet-RLA, RLA-ResNet.
    runs = [name for name, _ in itertools.groupby(calls)]
    assert runs == ['rla', 'resnet', 'rla', 'resnet']
    assert calls.count('rla') == calls.count('resnet') >= 3
    assert {k: len(v) for k, v in times.items()} == {'rla': 3, 'resnet': 3}


def test_rounds_are_timed_by_torch_benchmark(bench, monkeypatch):
    """Each entry is the median of a torch.utils.benchmark measurement."""
    medians = iter([0.5, 0.25, 0.75, 1.0])
    seen = []

    class FakeTimer:

        def __init__(self, stmt, globals, label, num_threads):
            self.label = label
            assert stmt == 'fn()' and callable(globals['fn'])
            assert num_threads == bench.torch.get_num_threads()

        def blocked_autorange(self, min_run_time):
            seen.append((self.label, min_run_time))
            return SimpleNamespace(median=next(medians))

    monkeypatch.setattr(bench.benchmark, 'Timer', FakeTimer)
    times = bench.time_alternating(
        {'rla': lambda: None, 'resnet': lambda: None}, repeats=2, warmup=0,
        min_run_time=0.3)
    assert seen == [('rla', 0.3), ('resnet', 0.3), ('resnet', 0.3),
                    ('rla', 0.3)]
    assert times == {'rla': [0.5, 1.0], 'resnet': [0.25, 0.75]}
    with pytest.raises(ValueError, match='repeats must be at least 1'):
        bench.time_alternating({'rla': lambda: None}, repeats=0, warmup=0)


def test_benchmark_prints_ratios(tmp_path):
    out_json = tmp_path / 'bench.json'
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), '--shape', '2', '3', '64', '64',
         '--repeats', '1', '--warmup', '0', '--detector', '--detector-shape',
         '1', '3', '64', '64', '--json', str(out_json)],
        capture_output=True, text=True, check=True, cwd=ROOT)
    assert 'RLA-ResNet-50 vs ResNet-50' in proc.stdout
    assert 'train step (s)' in proc.stdout and 'ratio' in proc.stdout
    results = json.loads(out_json.read_text())
    result = results['R50']
    saved = result['saved for backward (MiB)']
    # RLA keeps strictly more for backward than ResNet, but not much more.
    assert 1.0 < saved['rla'] / saved['resnet'] < 1.2
    peak = result['peak train memory (MiB)']
    assert set(peak) == {'rla', 'resnet', 'rla_cp'}
    assert all(v > 0 for v in peak.values())
    detector = results['mask_rcnn']['Mask R-CNN train iter (s)']
    assert detector['rla'] > 0 and detector['resnet'] > 0


def test_ratios_of_ablation_variants(bench):
    times = {'rla': [2.0, 4.0], 'resnet': [1.0, 2.0],
             'rla literal': [3.0, 5.0]}
    summary = bench.summarize_rounds(times)
    assert summary['ratio'] == 2.0
    assert summary['ratio rla literal'] == 2.75
    assert summary['ratio_min rla literal'] == 2.5
    result = {'inference (s)': {**summary, **{
        f'{key} {name}': summary[f'{key} rla literal']
        for name in ('rla -fuse', )
        for key in ('ratio', 'ratio_min', 'ratio_max')}}}
    table = bench.format_ablation(result)
    assert 'rla literal' in table and '2.750 (2.500-3.000)' in table


def test_dilated_ablation_run(tmp_path):
    out_json = tmp_path / 'bench.json'
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), '--shape', '1', '3', '48', '48',
         '--repeats', '1', '--warmup', '0', '--dilated', '--ablation',
         '--no-memory', '--json', str(out_json)],
        capture_output=True, text=True, check=True, cwd=ROOT)
    assert 'dilated=True' in proc.stdout and 'rla literal' in proc.stdout
    train = json.loads(out_json.read_text())['R50']['train step (s)']
    for variant in ('rla -fuse', 'rla literal'):
        assert train[f'ratio {variant}'] > 0
