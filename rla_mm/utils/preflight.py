"""Checks run by the tools before a runner is built.

A missing pretrained file otherwise surfaces only after the datasets, the
model and the optimizer are built, as a ``FileNotFoundError`` deep inside
mmengine's weight initialization.
"""
import os.path as osp
import re
from typing import Any, List, NamedTuple

# Any ``scheme://`` (http, torchvision, open-mmlab, s3, ...) is resolved by
# mmengine's CheckpointLoader at load time, not read from the local disk.
_REMOTE = re.compile(r'^[^/\\]*://')

RLA_RELEASE_URL = 'https://github.com/fangyanwen1106/RLANet'


class MissingCheckpoint(NamedTuple):
    """A local ``Pretrained`` checkpoint of a config that does not exist.

    Attributes:
        key (str): Dotted config key of the path, usable with
            ``--cfg-options``, e.g. ``'model.backbone.init_cfg.checkpoint'``.
        path (str): The path as written in the config.
    """
    key: str
    path: str


def is_local_path(path: str) -> bool:
    """Whether ``path`` is read from the local disk (no ``scheme://``)."""
    return not _REMOTE.match(path)


def find_missing_checkpoints(cfg: Any,
                             key: str = 'model') -> List[MissingCheckpoint]:
    """Local ``Pretrained`` checkpoints named in ``cfg`` that do not exist.

    Walks nested dicts and lists for ``init_cfg`` entries (a dict or a list
    of dicts) of ``type='Pretrained'``.

    Args:
        cfg: A config node, typically ``Config.model``.
        key (str): Dotted key of ``cfg`` in the whole config; it prefixes
            the keys reported.

    Returns:
        list[MissingCheckpoint]: In the order they appear in the config.
    """
    missing: List[MissingCheckpoint] = []
    if isinstance(cfg, dict):
        for name, value in cfg.items():
            child_key = f'{key}.{name}'
            if name == 'init_cfg':
                missing += _check_init_cfg(value, child_key)
            missing += find_missing_checkpoints(value, child_key)
    elif isinstance(cfg, (list, tuple)):
        for index, value in enumerate(cfg):
            missing += find_missing_checkpoints(value, f'{key}.{index}')
    return missing


def _check_init_cfg(init_cfg: Any, key: str) -> List[MissingCheckpoint]:
    """Missing local checkpoints of one ``init_cfg`` (a dict or a list)."""
    if isinstance(init_cfg, dict):
        entries = [(key, init_cfg)]
    elif isinstance(init_cfg, (list, tuple)):
        entries = [(f'{key}.{i}', c) for i, c in enumerate(init_cfg)]
    else:
        return []
    missing = []
    for entry_key, entry in entries:
        if not isinstance(entry, dict) or entry.get('type') != 'Pretrained':
            continue
        path = entry.get('checkpoint')
        if (isinstance(path, str) and is_local_path(path)
                and not osp.isfile(path)):
            missing.append(MissingCheckpoint(f'{entry_key}.checkpoint', path))
    return missing


def missing_checkpoints_message(missing: List[MissingCheckpoint]) -> str:
    """Explain which pretrained files are missing and how to provide them."""
    lines = ['Pretrained weights not found:']
    for item in missing:
        lines.append(f'  {osp.abspath(item.path)}  (config key {item.key})')
    example = missing[0]
    lines += [
        '',
        'The RLA-Net ImageNet weights (e.g. resnet50_rla_2283.pth.tar) are '
        'released by the authors of "Recurrence along Depth: Deep '
        'Convolutional Neural Networks with Recurrent Layer Aggregation" '
        f'(NeurIPS 2021) at {RLA_RELEASE_URL}.',
        'To provide them, either:',
        f'  - download the file to {example.path},',
        '  - or set RLA_CHECKPOINT_DIR to the folder that holds it (the RLA '
        'configs read their weights from there, ./checkpoints when unset),',
        f'  - or pass --cfg-options {example.key}=PATH.',
    ]
    return '\n'.join(lines)
