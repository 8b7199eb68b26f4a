"""Regenerate the model-zoo tables of configs/README.md from the metafile.

The numbers are written once, in ``configs/metafile.yml``; after editing it,
run this to rewrite the README's generated blocks. ``--check`` only compares
and exits with status 1 when the README is out of date.

Usage::

    python tools/paper/zoo_readme.py [--check]
"""
import argparse
import os.path as osp
import sys
from pathlib import Path

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rla_lab.paper.metafile import read_model_index
from rla_lab.paper.zoo_readme import generated_blocks, render
from rla_lab.utils.runs import REPO_ROOT

README = osp.join(REPO_ROOT, 'configs', 'README.md')
MODEL_INDEX = osp.join(REPO_ROOT, 'model-index.yml')


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Write the model-zoo tables of configs/README.md from '
        'configs/metafile.yml.')
    parser.add_argument(
        '--check', action='store_true',
        help='write nothing; exit with status 1 if the README is out of '
        'date')
    args = parser.parse_args()
    with open(README) as f:
        current = f.read()
    expected = render(current, generated_blocks(read_model_index(MODEL_INDEX)))
    if expected == current:
        print(f'{README} is up to date.')
    elif args.check:
        raise SystemExit(f'{README} is out of date: run python '
                         'tools/paper/zoo_readme.py to rewrite its tables.')
    else:
        with open(README, 'w') as f:
            f.write(expected)
        print(f'Rewrote the generated tables of {README}.')


if __name__ == '__main__':
    main()
