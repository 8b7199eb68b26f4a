"""Smoke test of the backbone benchmark on a tiny input."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmark_prints_ratios(tmp_path):
    out_json = tmp_path / 'bench.json'
    proc = subprocess.run(
        [sys.executable, str(ROOT / 'tools/analysis/benchmark_backbone.py'),
         '--shape', '2', '3', '64', '64', '--repeats', '1', '--warmup', '0',
         '--json', str(out_json)],
        capture_output=True, text=True, check=True, cwd=ROOT)
    assert 'RLA-ResNet-50 vs ResNet-50' in proc.stdout
    assert 'train step (s)' in proc.stdout and 'ratio' in proc.stdout
    result = json.loads(out_json.read_text())['R50']
    saved = result['saved for backward (MiB)']
    # RLA keeps strictly more for backward than ResNet, but not much more.
    assert 1.0 < saved['rla'] / saved['resnet'] < 1.2
    peak = result['peak train memory (MiB)']
    assert set(peak) == {'rla', 'resnet', 'rla_cp'}
    assert all(v > 0 for v in peak.values())
