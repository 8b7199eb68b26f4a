"""Write the synthetic shapes dataset used by the demo configs.

By default the dataset a demo config names (its ``shapes_dataset``), into
its folder; each field can be set otherwise, and ``--out-dir`` names
another folder. A folder holding a dataset drawn otherwise is drawn anew.

Example:
    python tools/misc/make_demo_dataset.py --out-dir data/demo_shapes
    python tools/misc/make_demo_dataset.py --task cls
"""
import argparse
import os.path as osp
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Dict, Tuple

from mmengine.config import Config

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rla_lab.demo import ShapesConfig
from rla_lab.demo.config_dataset import (ConfigDataset, dataset_of,
                                         redraw_unless_present)
from rla_lab.utils.runs import REPO_ROOT

# The demo config whose dataset each task writes; seg reads det's.
DEMO_CONFIGS = {
    'det': osp.join(REPO_ROOT, 'configs', 'demo', 'mask_rcnn_r50_shapes.py'),
    'cls': osp.join(REPO_ROOT, 'configs', 'demo', 'cls_r50_shapes.py'),
}


def demo_datasets() -> Dict[str, ConfigDataset]:
    """The dataset each task's demo config names, by task."""
    return {task: dataset_of(Config.fromfile(path))
            for task, path in DEMO_CONFIGS.items()}


def parse_args() -> Tuple[argparse.Namespace, ConfigDataset]:
    datasets = demo_datasets()
    parser = argparse.ArgumentParser(
        description='Render the demos\' dataset of geometric shapes: for '
        'det (and seg), COCO instances and label maps; for cls, one shape '
        'per image in class folders. The dataset options are the fields of '
        'rla_lab.demo.shapes.ShapesConfig (the image size in pixels, radii '
        'as fractions of it); their defaults are the demo config\'s.')
    parser.add_argument(
        '--task', choices=list(DEMO_CONFIGS), default='det',
        help='det: the detection and segmentation demos\' dataset; cls: '
        'the classification demo\'s (default: %(default)s)')
    parser.add_argument(
        '--out-dir',
        help='dataset root; gets {train,val}/ and, for det, annotations/ '
        '(default: the demo config\'s, ' + ', '.join(
            f'{dataset.root} for {task}'
            for task, dataset in datasets.items()) + ')')
    for field in fields(ShapesConfig):
        parser.add_argument(
            f"--{field.name.replace('_', '-')}", type=field.type,
            help='(default: ' + ', '.join(
                f'{getattr(dataset.params, field.name)} for {task}'
                for task, dataset in datasets.items()) + ')')
    parser.add_argument(
        '--force', action='store_true',
        help='rewrite even if the same dataset is already there')
    args = parser.parse_args()
    dataset = datasets[args.task]
    given = {f.name: getattr(args, f.name) for f in fields(ShapesConfig)
             if getattr(args, f.name) is not None}
    try:
        params = replace(dataset.params, **given)
    except ValueError as error:
        parser.error(str(error))
    return args, ConfigDataset(dataset.kind, args.out_dir or dataset.root,
                               params)


def main() -> None:
    args, dataset = parse_args()
    start = time.perf_counter()
    try:
        written = redraw_unless_present(dataset.kind, dataset.root,
                                        dataset.params, force=args.force)
    except ValueError as error:
        raise SystemExit(str(error))
    if written:
        print(f'Wrote {dataset.params.num_train} train and '
              f'{dataset.params.num_val} val images to {dataset.root} in '
              f'{time.perf_counter() - start:.1f} s.')
    else:
        print(f'{dataset.root} already holds this dataset; nothing to do '
              '(--force rewrites it).')


if __name__ == '__main__':
    main()
