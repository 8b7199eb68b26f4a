"""Train and evaluate an RLA-ResNet-50 model on synthetic shapes, on a CPU.

What ``make demo`` runs, offline, once per task:

* ``--task det`` (default): Mask R-CNN, COCO box and mask AP;
* ``--task seg``: Semantic FPN on the same images' label maps, mIoU;
* ``--task cls``: MMPretrain's ImageClassifier with the authors' head on
  one-shape images of ten kinds, top-1 and top-5 accuracy and the
  confusion matrix.

Each run:

1. builds the run's config: the task's demo config with ``--cfg-options``
   merged, the dataset options set in its ``shapes_dataset`` (the dataset
   it names: folder and generator parameters), every dataloader pointed at
   that folder and validation during training off; dumps it to
   ``<work-dir>/config.py``, which both tools below run;
2. renders the shapes dataset where it is missing
   (``rla_lab.demo.config_dataset``; a folder that holds one drawn
   otherwise is refused, not rewritten),
3. trains the model from scratch with ``tools/train.py``,
4. evaluates it with ``tools/test.py`` on the val split and paints its
   predictions on the val images (cls: draws the confusion matrix),
5. plots the training losses and prints the metrics and where everything is.

Usage::

    python tools/demo.py [--task {cls,det,seg}] [--config CONFIG]
        [--data-root DIR] [--work-dir DIR] [--iters N] [--num-train N]
        [--num-val N] [--cfg-options KEY=VALUE ...]

``--config configs/demo/mask_rcnn_r50_shapes.py`` (or
``fpn_r50_shapes_seg.py`` with ``--task seg``, ``cls_r50_shapes.py`` with
``--task cls``; with another ``--work-dir``) runs the plain ResNet-50 twin
for comparison; ``--iters 2 --num-train 8 --num-val 2 --data-root
data/demo_shapes_smoke`` is the smoke test (a dataset of other sizes needs a
folder of its own: the one of the config is kept).
"""
import argparse
import os
import os.path as osp
import shutil
import sys
import time
from contextlib import contextmanager
from glob import glob
from pathlib import Path
from typing import Dict, Iterator, NamedTuple, Optional, Sequence, Tuple

from mmengine.config import Config, DictAction

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rla_lab.demo import CLASSES, background_only_miou
from rla_lab.demo.config_dataset import (DATASET_KEY, ConfigDataset,
                                         ensure_config_dataset,
                                         point_at_dataset)
from rla_lab.utils.codebases import read_config
from rla_lab.utils.runs import (Panel, latest_run_dir, loss_curves,
                                metrics_file, plot_panels, read_json_lines,
                                run_command, scalars_file, tool_command)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class Task(NamedTuple):
    """What differs between the demos (each config names its dataset:
    ``shapes_dataset``)."""
    config: str
    work_dir: str
    metric: str


TASKS = {
    'det': Task(
        osp.join(REPO_ROOT, 'configs', 'demo', 'mask_rcnn_rla_r50_shapes.py'),
        'work_dirs/demo', 'COCO AP'),
    'seg': Task(
        osp.join(REPO_ROOT, 'configs', 'demo', 'fpn_rla_r50_shapes_seg.py'),
        'work_dirs/demo_seg', 'mIoU (%)'),
    'cls': Task(
        osp.join(REPO_ROOT, 'configs', 'demo', 'cls_rla_r50_shapes.py'),
        'work_dirs/demo_cls', 'Accuracy (%)'),
}
COCO_TASKS = ('bbox', 'segm')
# Columns of the AP table: header and suffix of CocoMetric's keys.
AP_COLUMNS = (('AP', 'mAP'), ('AP50', 'mAP_50'), ('AP75', 'mAP_75'),
              ('APs', 'mAP_s'), ('APm', 'mAP_m'), ('APl', 'mAP_l'))
IOU_COLUMNS = ('mIoU', 'mAcc', 'aAcc')
# Accuracy's keys (topk=(1, 5)) and ConfusionMatrix's, as test.py logs them.
TOPK = (1, 5)
CONFUSION_KEY = 'confusion_matrix/result'
SHOWN_PREDICTIONS = 4
# The config both tools run, in the work dir.
CONFIG_FILE = 'config.py'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train and evaluate an RLA-ResNet-50 Mask R-CNN (det), '
        'Semantic FPN (seg) or image classifier (cls) on synthetic shapes, '
        'from scratch, on a CPU.')
    parser.add_argument('--task', choices=sorted(TASKS), default='det',
                        help='det: instance segmentation (COCO AP); seg: '
                        'semantic segmentation (mIoU); cls: classification '
                        '(top-1 and top-5 accuracy) (default: %(default)s)')
    parser.add_argument('--config',
                        help='demo config (default: the task\'s RLA config '
                        'in configs/demo/)')
    parser.add_argument('--data-root',
                        help='where the dataset is written and read '
                        '(default: the config\'s shapes_dataset.root: '
                        'data/demo_shapes, or data/demo_shapes_cls for cls)')
    parser.add_argument('--work-dir',
                        help='where the config, logs, checkpoint and outputs '
                        'go (default: work_dirs/demo, work_dirs/demo_seg or '
                        'work_dirs/demo_cls)')
    parser.add_argument('--iters', type=int,
                        help='training iterations (default: the config\'s)')
    parser.add_argument('--num-train', type=int,
                        help='train images (default: the config\'s '
                        'shapes_dataset.num_train: 400, or 10000 for cls)')
    parser.add_argument('--num-val', type=int,
                        help='val images (default: the config\'s '
                        'shapes_dataset.num_val: 50, or 5000 for cls)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default={}, metavar='KEY=VALUE',
                        help='merged into the config of both training and '
                        'testing, as tools/train.py merges them, e.g. '
                        'model.backbone.base_channels=32')
    args = parser.parse_args()
    task = TASKS[args.task]
    args.config = args.config or task.config
    args.work_dir = args.work_dir or task.work_dir
    return args


def demo_config(args: argparse.Namespace) -> Tuple[Config, ConfigDataset]:
    """The config the demo runs, and the shapes dataset it reads.

    ``args.config`` with ``--cfg-options`` merged and the dataset options
    set in its ``shapes_dataset``, every dataloader pointed at the
    dataset's folder (``point_at_dataset``), ``--iters`` set, and no
    validation while training: the demo evaluates with ``tools/test.py``
    afterwards.

    Raises:
        ValueError: If the config names no shapes dataset, or an invalid
            one.
    """
    cfg = read_config(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get(DATASET_KEY) is None:
        raise ValueError(
            f'{args.config} names no shapes dataset ({DATASET_KEY}): '
            f'tools/demo.py runs the configs of configs/demo/.')
    data = dict(root=args.data_root, num_train=args.num_train,
                num_val=args.num_val)
    cfg.merge_from_dict({f'{DATASET_KEY}.{key}': value
                         for key, value in data.items() if value is not None})
    dataset = point_at_dataset(cfg)
    cfg.merge_from_dict(
        dict(val_cfg=None, val_dataloader=None, val_evaluator=None))
    if args.iters is not None:
        cfg.merge_from_dict({'train_cfg.max_iters': args.iters})
    return cfg, dataset


def run_tool(script: str, args: Sequence[str]) -> None:
    """Run ``tools/<script>`` with this interpreter, its output streamed."""
    run_command(tool_command(script, *args))


def plot_losses(records: Sequence[dict], out_file: str, title: str) -> None:
    """Plot every ``loss*`` scalar against the iteration into ``out_file``."""
    plot_panels([[Panel(title, 'loss', loss_curves(records))]], out_file,
                panel_size=(7, 4.5))


def format_ap_table(metrics: Dict[str, float]) -> str:
    """CocoMetric's box and mask APs (``coco/<task>_<metric>``) as a table.

    An AP that is missing, or -1 (no ground truth in that size range), is
    shown as '-'.
    """
    lines = ['       ' + ''.join(f'{name:>8}' for name, _ in AP_COLUMNS)]
    for task in COCO_TASKS:
        cells = []
        for _, key in AP_COLUMNS:
            value = metrics.get(f'coco/{task}_{key}', -1)
            cells.append(f'{value:8.3f}' if value >= 0 else f"{'-':>8}")
        lines.append(f'  {task:<5}' + ''.join(cells))
    return '\n'.join(lines)


def format_iou_table(metrics: Dict[str, float],
                     background_miou: float) -> str:
    """IoUMetric's mIoU, mAcc and aAcc (percent), and the mIoU of predicting
    background everywhere, which a trained model must clearly beat."""
    lines = ['  ' + ''.join(f'{name:>8}' for name in IOU_COLUMNS),
             '  ' + ''.join(f'{metrics[name]:8.2f}' for name in IOU_COLUMNS),
             f'  background everywhere: mIoU {background_miou:.2f}']
    return '\n'.join(lines)


def format_accuracy_table(metrics: Dict[str, float],
                          num_classes: int) -> str:
    """Accuracy's top-1 and top-5 (percent), and those of a guess."""
    lines = ['  ' + ''.join(f'{f"top-{k}":>8}' for k in TOPK),
             '  ' + ''.join(f"{metrics[f'accuracy/top{k}']:8.2f}"
                            for k in TOPK),
             '  a guess: ' + ', '.join(
                 f'top-{k} {100 * k / num_classes:.0f}' for k in TOPK)]
    return '\n'.join(lines)


def format_confusion_matrix(matrix: Sequence[Sequence[int]],
                            classes: Sequence[str]) -> str:
    """ConfusionMatrix's counts: a row per true class, a column per
    predicted one, numbered as the rows."""
    name_width = max(len(name) for name in classes) + 4
    lines = [' ' * (name_width + 2) +
             ''.join(f'{index:>6}' for index in range(len(classes)))]
    for index, (name, row) in enumerate(zip(classes, matrix)):
        lines.append(f'  {f"{index} {name}":<{name_width}}' +
                     ''.join(f'{count:>6}' for count in row))
    return '\n'.join(lines)


def plot_confusion_matrix(matrix: Sequence[Sequence[int]],
                          classes: Sequence[str], out_file: str) -> None:
    """Draw the matrix with MMPretrain's ``ConfusionMatrix.plot``."""
    import matplotlib.pyplot as plt
    import torch
    from mmpretrain.evaluation import ConfusionMatrix
    fig = ConfusionMatrix.plot(
        torch.tensor(matrix), include_values=True, classes=list(classes),
        show=False)
    fig.savefig(out_file, dpi=80, bbox_inches='tight')
    plt.close(fig)


def format_duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f'{minutes}m{seconds:02d}s' if minutes else f'{seconds}s'


@contextmanager
def stage(title: str, times: Dict[str, float], name: str) -> Iterator[None]:
    """Announce a stage and record its wall time in ``times[name]``."""
    print(title, flush=True)
    start = time.perf_counter()
    yield
    times[name] = time.perf_counter() - start


def train(config: str, train_dir: str) -> str:
    """Train with ``tools/train.py``; returns the last checkpoint's path."""
    run_tool('train.py', [config, '--work-dir', train_dir])
    with open(osp.join(train_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def evaluate(config: str, checkpoint: str, test_dir: str,
             show_dir: Optional[str]) -> str:
    """Evaluate with ``tools/test.py``, painting the predictions into
    ``show_dir`` unless it is None; returns the metrics file's path."""
    show = []
    if show_dir is not None:
        shutil.rmtree(show_dir, ignore_errors=True)
        show = ['--show-dir', show_dir]
    run_tool('test.py', [config, checkpoint, '--work-dir', test_dir, *show])
    return metrics_file(latest_run_dir(test_dir))


def main() -> None:
    args = parse_args()
    classify = args.task == 'cls'
    work_dir = osp.abspath(args.work_dir)
    train_dir = osp.join(work_dir, 'train')
    # A classifier's predictions are read from the confusion matrix.
    show_dir = None if classify else osp.join(work_dir, 'predictions')
    loss_curve = osp.join(work_dir, 'loss_curve.png')
    config = osp.join(work_dir, CONFIG_FILE)
    times: Dict[str, float] = {}
    try:
        cfg, dataset = demo_config(args)
    except ValueError as error:
        raise SystemExit(str(error))

    with stage('[1/3] Dataset', times, 'data'):
        try:
            written = ensure_config_dataset(cfg)
        except ValueError as error:
            raise SystemExit(str(error))
        print(f"{'Wrote' if written else 'Reusing'} the shapes dataset in "
              f'{dataset.root}.')
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(config)
    with stage('[2/3] Training from scratch (the log shows the ETA)', times,
               'train'):
        checkpoint = train(config, train_dir)
    with stage('[3/3] Testing', times, 'test'):
        metrics_path = evaluate(config, checkpoint,
                                osp.join(work_dir, 'test'), show_dir)

    plot_losses(
        read_json_lines(scalars_file(latest_run_dir(train_dir))), loss_curve,
        f'{osp.basename(args.config)}: training losses')
    metrics = read_json_lines(metrics_path)[-1]

    stages = ', '.join(f'{k} {format_duration(v)}' for k, v in times.items())
    print(f'\nDemo finished in {format_duration(sum(times.values()))} '
          f'({stages}).')
    print(f'{TASKS[args.task].metric} on the {dataset.params.num_val} val '
          f'images:')
    if classify:
        print(format_accuracy_table(metrics, len(CLASSES)))
        print('Confusion matrix (rows: true class, columns: predicted):')
        print(format_confusion_matrix(metrics[CONFUSION_KEY], CLASSES))
        confusion_plot = osp.join(work_dir, 'confusion_matrix.png')
        plot_confusion_matrix(metrics[CONFUSION_KEY], CLASSES,
                              confusion_plot)
    elif args.task == 'det':
        print(format_ap_table(metrics))
    else:
        print(format_iou_table(metrics, background_only_miou(dataset.root)))
    print('Outputs:')
    print(f'  config       {config}')
    print(f'  checkpoint   {checkpoint}')
    print(f'  metrics      {metrics_path}')
    print(f'  loss curve   {loss_curve}')
    if classify:
        print(f'  confusion    {confusion_plot}')
        return
    predictions = sorted(glob(osp.join(show_dir, '*.png')))
    print(f'  predictions  {show_dir} ({len(predictions)} images), e.g.')
    for path in predictions[:SHOWN_PREDICTIONS]:
        print(f'               {path}')


if __name__ == '__main__':
    main()
