"""Checks run by the tools before a runner is built.

A missing pretrained file otherwise surfaces only after the datasets, the
model and the optimizer are built, as a ``FileNotFoundError`` deep inside
mmengine's weight initialization.
"""
import os
import os.path as osp
import re
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from rla_mm.utils.checkpoint import is_pretrained_cfg

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
    of dicts) of ``type='Pretrained'``, and for a model-level ``pretrained``
    path (mmseg's segmentors hand it to their backbone) unless the backbone
    names its own weights in its ``init_cfg``, which then win.

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
            elif (name == 'pretrained' and _is_missing_file(value)
                  and not _names_pretrained(cfg.get('backbone'))):
                missing.append(MissingCheckpoint(child_key, value))
            missing += find_missing_checkpoints(value, child_key)
    elif isinstance(cfg, (list, tuple)):
        for index, value in enumerate(cfg):
            missing += find_missing_checkpoints(value, f'{key}.{index}')
    return missing


def _is_missing_file(path: Any) -> bool:
    """Whether ``path`` is a local path with no file there."""
    return (isinstance(path, str) and is_local_path(path)
            and not osp.isfile(path))


def _pretrained_entries(init_cfg: Any, key: str) -> List[Tuple[str, dict]]:
    """The ``type='Pretrained'`` entries of an ``init_cfg`` and their keys.
    """
    if isinstance(init_cfg, dict):
        entries = [(key, init_cfg)]
    elif isinstance(init_cfg, (list, tuple)):
        entries = [(f'{key}.{i}', c) for i, c in enumerate(init_cfg)]
    else:
        return []
    return [(k, c) for k, c in entries if is_pretrained_cfg(c)]


def _names_pretrained(module_cfg: Any) -> bool:
    """Whether a module's config loads weights through its ``init_cfg``."""
    return isinstance(module_cfg, dict) and bool(
        _pretrained_entries(module_cfg.get('init_cfg'), 'init_cfg'))


def _check_init_cfg(init_cfg: Any, key: str) -> List[MissingCheckpoint]:
    """Missing local checkpoints of one ``init_cfg`` (a dict or a list)."""
    return [
        MissingCheckpoint(f'{entry_key}.checkpoint', entry['checkpoint'])
        for entry_key, entry in _pretrained_entries(init_cfg, key)
        if _is_missing_file(entry.get('checkpoint'))
    ]


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


def innermost_dataset(dataset: Any, key: str) -> Tuple[Any, str]:
    """The dataset config inside any wrappers (``dataset=`` in a dataset).

    A ``ConcatDataset`` (``datasets=[...]``) is returned itself: no one of
    its members stands for it. :func:`leaf_datasets` yields them all.

    Args:
        dataset (dict): A dataset config, e.g. ``cfg.test_dataloader.dataset``.
        key (str): Its dotted config key.

    Returns:
        tuple: The innermost dataset config and its dotted key.
    """
    while isinstance(dataset, dict) and isinstance(
            dataset.get('dataset'), dict):
        dataset, key = dataset['dataset'], f'{key}.dataset'
    return dataset, key


def leaf_datasets(dataset: Any, key: str) -> Iterator[Tuple[Any, str]]:
    """Every dataset config inside any wrappers, with its dotted key.

    Follows ``dataset=`` (mmengine's ``RepeatDataset`` and
    ``ClassBalancedDataset``, mmdet's and mmseg's ``MultiImageMixDataset``)
    and ``datasets=[...]`` (mmengine's and mmdet's ``ConcatDataset``).

    Args:
        dataset (dict): A dataset config, e.g.
            ``cfg.train_dataloader.dataset``.
        key (str): Its dotted config key.

    Yields:
        tuple: Each dataset config that wraps none, and its dotted key.
    """
    if isinstance(dataset, dict) and isinstance(dataset.get('dataset'), dict):
        yield from leaf_datasets(dataset['dataset'], f'{key}.dataset')
    elif isinstance(dataset, dict) and isinstance(dataset.get('datasets'),
                                                  (list, tuple)):
        for index, member in enumerate(dataset['datasets']):
            yield from leaf_datasets(member, f'{key}.datasets.{index}')
    else:
        yield dataset, key


def find_missing_data_roots(cfg: Any,
                            loaders: Sequence[str]) -> List[Tuple[str, str]]:
    """Local dataset ``data_root`` folders of ``loaders`` that do not exist.

    A missing dataset otherwise ends in a ``FileNotFoundError`` raised deep
    inside the codebase's dataset class. Dataset wrappers are followed to
    every dataset they wrap (:func:`leaf_datasets`).

    Args:
        cfg (Config or dict): The config.
        loaders (Sequence[str]): Dataloader keys, e.g.
            ``('train_dataloader', 'val_dataloader')``; absent ones are
            skipped.

    Returns:
        list[tuple[str, str]]: ``(config key, path)`` of each missing folder.
    """
    missing = []
    for loader in loaders:
        for dataset, key in leaf_datasets(
                (cfg.get(loader) or {}).get('dataset'), f'{loader}.dataset'):
            root = (dataset.get('data_root')
                    if isinstance(dataset, dict) else None)
            if root and is_local_path(root) and not osp.isdir(root):
                missing.append((f'{key}.data_root', root))
    return missing


# MMPretrain's datasets that read class folders of images when they have
# no ann_file, and the extensions they take by default.
IMAGE_FOLDER_DATASETS = ('CustomDataset', 'ImageNet',
                         'mmpretrain.CustomDataset', 'mmpretrain.ImageNet')
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif')


def _image_folder(dataset: Any) -> Optional[str]:
    """The class-folder root an MMPretrain dataset config reads, if any."""
    if not isinstance(dataset, dict) or dataset.get('ann_file') or \
            dataset.get('type') not in IMAGE_FOLDER_DATASETS:
        return None
    prefix = dataset.get('data_prefix') or dataset.get('split') or ''
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path', '')
    root = dataset.get('data_root') or ''
    if not is_local_path(root) or not osp.isdir(root):
        return None  # a missing data_root is find_missing_data_roots' job
    if dataset.get('type', '').endswith('ImageNet') and osp.isfile(
            osp.join(root, 'meta', f'{dataset.get("split")}.txt')):
        return None  # listed in meta/<split>.txt: an ann_file after all
    return osp.join(root, prefix)


def find_empty_image_folders(cfg: Any, loaders: Sequence[str]
                             ) -> List[Tuple[str, str, str]]:
    """Class-folder datasets of ``loaders`` whose folder is missing or holds
    no images.

    MMPretrain's ``CustomDataset`` (and ``ImageNet``) without an
    ``ann_file`` read ``data_root/data_prefix/<class>/<image>``; a missing
    or empty folder otherwise ends in a traceback from inside it.

    Returns:
        list[tuple[str, str, str]]: ``(config key, folder, what is wrong)``.
    """
    problems = []
    for loader in loaders:
        for dataset, key in leaf_datasets(
                (cfg.get(loader) or {}).get('dataset'), f'{loader}.dataset'):
            folder = _image_folder(dataset)
            if folder is None:
                continue
            if not osp.isdir(folder):
                problems.append((f'{key}.data_prefix', folder,
                                 'does not exist'))
            elif not any(name.lower().endswith(IMAGE_EXTENSIONS)
                         for _, _, names in os.walk(folder)
                         for name in names):
                problems.append((f'{key}.data_prefix', folder,
                                 'holds no images'))
    return problems


def empty_image_folders_message(problems: List[Tuple[str, str, str]]
                                ) -> str:
    """What to tell the user about ``find_empty_image_folders``' result."""
    lines = ['Image folders without images:']
    lines += [f'  {folder} {what}  (config key {key})'
              for key, folder, what in problems]
    lines.append(
        'A class-folder dataset reads FOLDER/<class name>/<image> (.jpg, '
        '.png, ...): put the images there, or set the key above to the '
        'folder that holds them, or give an ann_file.')
    return '\n'.join(lines)


def missing_data_message(missing: List[Tuple[str, str]]) -> str:
    """What to tell the user about ``find_missing_data_roots``' result."""
    lines = ['Dataset folders not found (relative paths are read from the '
             'current folder):']
    lines += [f'  {path}  (config key {key})' for key, path in missing]
    lines.append('Put the dataset there in its standard layout (see the '
                 'README), or pass --cfg-options KEY=PATH with the key above.')
    return '\n'.join(lines)
