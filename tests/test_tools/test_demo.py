import os.path as osp
import subprocess
import sys

from rla_mm.datasets.shapes import annotation_path

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_demo_smoke(tmp_path):
    """The whole demo at a toy size: data, training, test, plot, table.

    With 8 train images and a batch of 4, iteration 2 ends an epoch, which
    mmengine always logs, so the loss curve has a point to plot.
    """
    data_root, work_dir = tmp_path / 'data', tmp_path / 'work'
    result = subprocess.run(
        [sys.executable, osp.join(REPO_ROOT, 'tools', 'demo.py'),
         '--iters', '2', '--num-train', '8', '--num-val', '2',
         '--data-root', str(data_root), '--work-dir', str(work_dir)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[
        -3000:]
    assert osp.isfile(annotation_path(str(data_root), 'val'))
    assert (work_dir / 'loss_curve.png').stat().st_size > 0
    assert len(list((work_dir / 'predictions').glob('*.png'))) == 2
    summary = result.stdout[result.stdout.index('Demo finished'):]
    for row in ('bbox', 'segm', 'AP50', 'loss curve', 'predictions'):
        assert row in summary
