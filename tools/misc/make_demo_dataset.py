"""Write the synthetic shapes dataset used by the demo configs.

Example:
    python tools/misc/make_demo_dataset.py --out-dir data/demo_shapes
"""
import argparse
import time
from dataclasses import fields
from typing import Tuple

from rla_mm.demo.shapes import ShapesConfig, ensure_dataset


def parse_args() -> Tuple[argparse.Namespace, ShapesConfig]:
    parser = argparse.ArgumentParser(
        description='Render a COCO-format instance-segmentation dataset of '
        'geometric shapes. The dataset options are the fields of '
        'rla_mm.demo.shapes.ShapesConfig (the image size in pixels, '
        'radii as fractions of it).')
    parser.add_argument(
        '--out-dir', default='data/demo_shapes',
        help='dataset root; gets {train,val}/*.png and annotations/')
    for field in fields(ShapesConfig):
        parser.add_argument(
            f"--{field.name.replace('_', '-')}", type=field.type,
            default=field.default, help=f'(default: {field.default})')
    parser.add_argument(
        '--force', action='store_true',
        help='rewrite even if the same dataset is already there')
    args = parser.parse_args()
    try:
        cfg = ShapesConfig(
            **{f.name: getattr(args, f.name) for f in fields(ShapesConfig)})
    except ValueError as error:
        parser.error(str(error))
    return args, cfg


def main() -> None:
    args, cfg = parse_args()
    start = time.perf_counter()
    if ensure_dataset(args.out_dir, cfg, force=args.force):
        print(f'Wrote {cfg.num_train} train and {cfg.num_val} val images to '
              f'{args.out_dir} in {time.perf_counter() - start:.1f} s.')
    else:
        print(f'{args.out_dir} already holds this dataset; nothing to do '
              '(--force rewrites it).')


if __name__ == '__main__':
    main()
