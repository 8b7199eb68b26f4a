import os.path as osp
from dataclasses import replace

from mmengine.config import Config

from rla_lab.demo.shapes import (ShapesConfig, annotation_path,
                                 read_generator_config, write_dataset)
from rla_lab.demo.shapes_cls import (CLASSES, CLS_SHAPES,
                                     read_cls_generator_config)

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
    # Both tools ran the config the demo built, which names the dataset.
    config = work_dir / 'config.py'
    cfg = Config.fromfile(str(config))
    assert cfg.shapes_dataset.root == str(data_root)
    assert cfg.test_evaluator.ann_file == annotation_path(
        str(data_root), 'val')
    assert (cfg.train_cfg.max_iters, cfg.val_cfg) == (2, None)
    assert f'  config       {config}' in summary


def test_demo_keeps_a_dataset_drawn_otherwise(tmp_path):
    """A dataset of other sizes is not drawn over the one in --data-root:
    the demo stops before training, naming the fix."""
    data_root = tmp_path / 'data'
    tiny = ShapesConfig(num_train=2, num_val=1, image_size=64)
    write_dataset(str(data_root), tiny)
    result = run_tool([
        'python', TOOLS / 'demo.py', '--iters', '2', '--num-train', '8',
        '--num-val', '2', '--data-root', data_root, '--work-dir',
        tmp_path / 'work', *NARROW
    ], cwd=tmp_path, timeout=600, check=False)
    assert result.returncode != 0
    assert 'drawn with other parameters' in result.stderr
    assert '--data-root DIR' in result.stderr
    assert read_generator_config(str(data_root)) == tiny
    assert not (tmp_path / 'work').exists()


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


def test_classification_demo_smoke(tmp_path):
    """The classification demo at a toy size: its class folders, mmpretrain's
    ImageClassifier with the authors' head trained and tested through
    tools/train.py and tools/test.py, top-1 and top-5 accuracy and the
    confusion matrix, printed and drawn."""
    data_root, work_dir = tmp_path / 'data', tmp_path / 'work'
    result = run_tool([
        'python', TOOLS / 'demo.py', '--task', 'cls', '--iters', '2',
        '--num-train', '8', '--num-val', '20', '--data-root', data_root,
        '--work-dir', work_dir, '--cfg-options',
        'model.backbone.base_channels=8', 'model.head.in_channels=288',
        'train_dataloader.batch_size=4'
    ], cwd=tmp_path, timeout=600)
    assert read_cls_generator_config(str(data_root)) == replace(
        CLS_SHAPES, num_train=8, num_val=20)
    assert (work_dir / 'loss_curve.png').stat().st_size > 0
    assert (work_dir / 'confusion_matrix.png').stat().st_size > 0
    summary = result.stdout[result.stdout.index('Demo finished'):]
    lines = summary.splitlines()
    header = lines.index('Accuracy (%) on the 20 val images:')
    assert lines[header + 1].split() == ['top-1', 'top-5']
    top1, top5 = map(float, lines[header + 2].split())
    # 20 images: multiples of 5 percent.
    assert top1 % 5 == 0 and top5 % 5 == 0 and top1 <= top5
    start = lines.index(
        'Confusion matrix (rows: true class, columns: predicted):')
    rows = lines[start + 2:start + 2 + len(CLASSES)]
    counts = [[int(c) for c in row.split()[2:]] for row in rows]
    assert [row.split()[1] for row in rows] == list(CLASSES)
    # Two val images of each class; the diagonal is top-1.
    assert [sum(row) for row in counts] == [2] * len(CLASSES)
    assert sum(counts[i][i] for i in range(len(CLASSES))) == top1 / 5
    assert 'confusion' in summary
