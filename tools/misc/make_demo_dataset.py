"""Write the synthetic shapes dataset used by the demo configs.

Example:
    python tools/misc/make_demo_dataset.py --out-dir data/demo_shapes
    python tools/misc/make_demo_dataset.py --task cls
"""
import argparse
import sys
import time
from dataclasses import fields, replace
from pathlib import Path
from typing import Tuple

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rla_lab.demo import DEMO_DATASETS, ShapesConfig

# seg reads det's dataset.
TASKS = ('det', 'cls')


def parse_args() -> Tuple[argparse.Namespace, ShapesConfig]:
    parser = argparse.ArgumentParser(
        description='Render the demos\' dataset of geometric shapes: for '
        'det (and seg), COCO instances and label maps; for cls, one shape '
        'per image in class folders. The dataset options are the fields of '
        'rla_lab.demo.shapes.ShapesConfig (the image size in pixels, radii '
        'as fractions of it); their defaults are the task\'s.')
    parser.add_argument(
        '--task', choices=TASKS, default='det',
        help='det: the detection and segmentation demos\' dataset; cls: '
        'the classification demo\'s (default: %(default)s)')
    parser.add_argument(
        '--out-dir',
        help='dataset root; gets {train,val}/ and, for det, annotations/ '
        '(default: data/demo_shapes, or data/demo_shapes_cls for cls)')
    for field in fields(ShapesConfig):
        parser.add_argument(
            f"--{field.name.replace('_', '-')}", type=field.type,
            help='(default: ' + ', '.join(
                f'{getattr(DEMO_DATASETS[task].defaults, field.name)} for '
                f'{task}' for task in TASKS) + ')')
    parser.add_argument(
        '--force', action='store_true',
        help='rewrite even if the same dataset is already there')
    args = parser.parse_args()
    dataset = DEMO_DATASETS[args.task]
    args.out_dir = args.out_dir or dataset.root
    given = {f.name: getattr(args, f.name) for f in fields(ShapesConfig)
             if getattr(args, f.name) is not None}
    try:
        cfg = replace(dataset.defaults, **given)
    except ValueError as error:
        parser.error(str(error))
    return args, cfg


def main() -> None:
    args, cfg = parse_args()
    start = time.perf_counter()
    try:
        written = DEMO_DATASETS[args.task].ensure(args.out_dir, cfg,
                                                  force=args.force)
    except ValueError as error:
        raise SystemExit(str(error))
    if written:
        print(f'Wrote {cfg.num_train} train and {cfg.num_val} val images to '
              f'{args.out_dir} in {time.perf_counter() - start:.1f} s.')
    else:
        print(f'{args.out_dir} already holds this dataset; nothing to do '
              '(--force rewrites it).')


if __name__ == '__main__':
    main()
