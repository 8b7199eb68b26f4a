import os.path as osp

from rla_mm.demo.shapes import annotation_path

from .tool_helpers import TOOLS, run_tool

# The demos' plumbing is what these tests check: RLA-R50 at 1/8 width.
NARROW = ('--cfg-options', 'model.backbone.base_channels=8',
          'model.neck.in_channels=[32,64,128,256]')


def test_demo_smoke(tmp_path):
    """The whole demo at a toy size: data, training, test, plot, table.

    With 8 train images and a batch of 4, iteration 2 ends an epoch, which
    mmengine always logs, so the loss curve has a point to plot.
    """
    data_root, work_dir = tmp_path / 'data', tmp_path / 'work'
    result = run_tool([
        'python', TOOLS / 'demo.py', '--iters', '2', '--num-train', '8',
        '--num-val', '2', '--data-root', data_root, '--work-dir', work_dir,
        *NARROW
    ], cwd=tmp_path, timeout=600)
    assert osp.isfile(annotation_path(str(data_root), 'val'))
    assert (work_dir / 'loss_curve.png').stat().st_size > 0
    assert len(list((work_dir / 'predictions').glob('*.png'))) == 2
    summary = result.stdout[result.stdout.index('Demo finished'):]
    for row in ('bbox', 'segm', 'AP50', 'loss curve', 'predictions'):
        assert row in summary


def test_segmentation_demo_smoke(tmp_path):
    """The semantic-segmentation demo at a toy size: mmseg's dataset,
    IoUMetric, painted label maps and the background-only floor."""
    data_root, work_dir = tmp_path / 'data', tmp_path / 'work'
    result = run_tool([
        'python', TOOLS / 'demo.py', '--task', 'seg', '--iters', '2',
        '--num-train', '8', '--num-val', '2', '--data-root', data_root,
        '--work-dir', work_dir, *NARROW
    ], cwd=tmp_path, timeout=600)
    assert (work_dir / 'loss_curve.png').stat().st_size > 0
    assert len(list((work_dir / 'predictions').rglob('*.png'))) == 2
    summary = result.stdout[result.stdout.index('Demo finished'):]
    for row in ('mIoU', 'mAcc', 'aAcc', 'background everywhere',
                'predictions'):
        assert row in summary
