"""Turn a released RLA-Net ImageNet checkpoint into a clean backbone file.

The authors' ImageNet files (``resnet50_rla_2283.pth.tar``,
``ecanet50_rla_2215.pth.tar``, ``resnet101_rla_2148.pth.tar``,
``ecanet101_rla_2100.pth.tar``) are training snapshots: the weights under
``state_dict`` with a ``module.`` prefix (DataParallel), the classifier
(``fc``, and ``bn2`` on the final hidden state) and the optimizer state.
This tool keeps the backbone weights only, checks that they fit an
``RLAResNet`` exactly (depth, ``rla_channels`` and ECA kernel sizes are read
from the weights), and saves them as ``OUT_STEM-<sha256[:8]>.pth``, the way
mmdet publishes its weights.

The configs load the released files as they are; the clean file is smaller
and named by its content. Use it with
``--cfg-options model.backbone.init_cfg.checkpoint=PATH``.

Example::

    python tools/model_converters/rla_imagenet2mmdet.py \\
        resnet50_rla_2283.pth.tar checkpoints/rla_r50_imagenet.pth
"""
import argparse
import re
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from torch import Tensor

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rla_lab.utils.checkpoint_io import publish
from rla_lab.utils.cli import add_output_arguments, load_input_checkpoint
from rla_mm.models import RLAResNet
from rla_mm.models.backbones.rla_resnet import repr_arch
from rla_mm.utils.checkpoint import (CLASSIFIER_PREFIXES, WRAPPER_PREFIXES,
                                     CheckpointMismatchError,
                                     extract_state_dict, match_state_dict)

_BLOCK_KEY = re.compile(r'^stages\.(\d+)\.(\d+)\.conv1\.weight$')


def infer_architecture(state_dict: Mapping[str, Tensor]) -> Dict[str, Any]:
    """``RLAResNet`` arguments that fit the weights of ``state_dict``.

    Returns:
        dict: ``depth``, ``rla_channels`` and ``eca_kernel_sizes`` (None
        without ECA).

    Raises:
        ValueError: If the weights are not an RLA-ResNet's.
    """
    blocks: Dict[int, int] = {}
    for key in state_dict:
        match = _BLOCK_KEY.match(key)
        if match:
            stage = int(match.group(1))
            blocks[stage] = blocks.get(stage, 0) + 1
    layout = tuple(blocks.get(s, 0) for s in range(len(blocks)))
    depths = {v: k for k, v in RLAResNet.arch_settings.items()}
    if layout not in depths or 'conv_outs.0.weight' not in state_dict:
        raise ValueError(
            f'not an RLA-ResNet checkpoint: expected keys '
            f'stages.<stage>.<block>.conv1.weight with '
            f'{sorted(RLAResNet.arch_settings.values())} blocks per stage '
            f'and conv_outs.*, found blocks per stage {layout}. Plain '
            f'ResNet weights (layer1.*) need no conversion for mmdet.')
    kernels = [
        state_dict.get(f'stages.{s}.0.eca.conv.weight')
        for s in range(len(layout))
    ]
    eca_kernel_sizes = None
    if any(k is not None for k in kernels):
        if any(k is None for k in kernels):
            raise ValueError('ECA in some stages only; RLAResNet puts it in '
                             'every stage or in none.')
        eca_kernel_sizes = [int(k.shape[-1]) for k in kernels]
    return dict(
        depth=depths[layout],
        rla_channels=int(state_dict['conv_outs.0.weight'].shape[0]),
        eca_kernel_sizes=eca_kernel_sizes)


def convert(checkpoint: Mapping, source: str) -> Dict[str, Any]:
    """The clean backbone checkpoint of a loaded ImageNet checkpoint.

    Args:
        checkpoint (Mapping): The loaded file.
        source (str): Its name, for messages and the output's ``meta``.

    Returns:
        dict: ``state_dict`` (exactly an ``RLAResNet``'s keys) and ``meta``
        (``arch``: the ``RLAResNet`` arguments; ``source``).

    Raises:
        ValueError: If the weights do not fit an ``RLAResNet`` exactly.
    """
    state_dict = extract_state_dict(checkpoint)
    arch = infer_architecture(state_dict)
    model = RLAResNet(**arch)
    try:
        weights = match_state_dict(state_dict, model.state_dict(), source,
                                   repr_arch(model))
    except CheckpointMismatchError as error:
        raise ValueError(str(error)) from None
    return dict(
        state_dict=OrderedDict(weights),
        meta=dict(arch=dict(type='RLAResNet', **arch), source=source))


def dropped_summary(checkpoint: Mapping) -> List[str]:
    """What :func:`convert` leaves out of ``checkpoint``, for the user."""
    raw_keys = list(checkpoint.get('state_dict', checkpoint))
    lines = []
    prefixes = sorted({p for k in raw_keys for p in WRAPPER_PREFIXES
                       if k.startswith(p)})
    if prefixes:
        lines.append('key prefix ' + ', '.join(map(repr, prefixes)))
    classifier = [
        k for k in extract_state_dict(checkpoint)
        if k.startswith(CLASSIFIER_PREFIXES)
    ]
    if classifier:
        lines.append(f'classifier ({len(classifier)} tensors): ' +
                     ', '.join(classifier))
    others = [k for k in checkpoint if k != 'state_dict']
    if 'state_dict' in checkpoint and others:
        lines.append('entries ' + ', '.join(others))
    return lines


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Keep the backbone of a released RLA-Net ImageNet '
        'checkpoint, checked, in a file named by its SHA-256.')
    parser.add_argument('in_file', help='released .pth.tar file')
    add_output_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Convert; return the path written."""
    args = parse_args(argv)
    checkpoint = load_input_checkpoint(args)
    try:
        converted = convert(checkpoint, args.in_file)
    except ValueError as error:
        raise SystemExit(f'{args.in_file}: {error}') from None
    arch = ', '.join(f'{k}={v}' for k, v in converted['meta']['arch'].items()
                     if k != 'type')
    print(f'{args.in_file}: RLAResNet({arch}), '
          f'{len(converted["state_dict"])} tensors kept.')
    for line in dropped_summary(checkpoint):
        print(f'  dropped {line}')
    out_file, sha256 = publish(converted, args.out_file)
    print(f'Wrote {out_file} (SHA-256 {sha256[:8]}).')
    print('Use it with init_cfg=dict(type=\'Pretrained\', '
          f'checkpoint=\'{out_file}\').')
    return out_file


if __name__ == '__main__':
    main()
