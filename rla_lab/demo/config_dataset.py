"""The shapes dataset a demo config names, written where it is missing.

Every config of ``configs/demo/`` names the dataset it reads under the
top-level key ``shapes_dataset`` (``DATASET_KEY``)::

    shapes_dataset = dict(
        kind='scenes',             # what is written: a key of KINDS
        root='data/demo_shapes/',  # where it is written and read
        num_train=400, num_val=50, image_size=256, min_objects=1,
        max_objects=4, min_radius=0.1, max_radius=0.25, min_visible=0.5,
        noise_std=6.0, seed=0)     # every field of shapes.ShapesConfig

``'scenes'`` are several shapes per image, as COCO instances and label maps
(:mod:`.shapes`: the detection and segmentation demos); ``'classes'`` one
shape per image in class folders (:mod:`.shapes_cls`: the classification
demo). ``seed`` is the dataset's own, not training's (``randomness.seed``).

The tools that run the demos (``tools/demo.py`` and
``tools/paper/run_pairs.py --demo``) read the key from the config they
build, point every dataloader at its root (:func:`point_at_dataset`), and
have :func:`ensure_config_dataset` write the dataset where it is missing.
A folder that holds a dataset drawn otherwise is never rewritten: the runs
that read it would silently change data.
"""
import os.path as osp
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional

from ..utils.preflight import leaf_datasets
from .shapes import (ShapesConfig, annotation_path, read_generator_config,
                     write_dataset)
from .shapes_cls import (check_cls_config, read_cls_generator_config,
                         write_cls_dataset)

DATASET_KEY = 'shapes_dataset'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator')


class Kind(NamedTuple):
    """How a kind of shapes dataset is read and written.

    Attributes:
        read (callable): ``read(root)``: the parameters of the complete
            dataset under ``root``, else None.
        write (callable): ``write(root, params)``: draw it there.
        check (callable, optional): ``check(params)`` raises ValueError for
            parameters the kind cannot draw.
    """
    read: Callable[[str], Optional[ShapesConfig]]
    write: Callable[[str, ShapesConfig], None]
    check: Optional[Callable[[ShapesConfig], None]] = None


KINDS: Dict[str, Kind] = {
    'scenes': Kind(read_generator_config, write_dataset),
    'classes': Kind(read_cls_generator_config, write_cls_dataset,
                    check_cls_config),
}
SCENES = 'scenes'


@dataclass(frozen=True)
class ConfigDataset:
    """The shapes dataset a config names (``DATASET_KEY``).

    Attributes:
        kind (str): A key of ``KINDS``.
        root (str): Its folder.
        params (ShapesConfig): What it is drawn with.
    """
    kind: str
    root: str
    params: ShapesConfig


def dataset_of(cfg: Mapping) -> Optional[ConfigDataset]:
    """The shapes dataset ``cfg`` names, or None if it names none.

    Raises:
        ValueError: If ``cfg[DATASET_KEY]`` is not a whole, valid
            description: a known ``kind``, a ``root``, and every field of
            ``ShapesConfig`` with values it and the kind accept.
    """
    entry = cfg.get(DATASET_KEY)
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise ValueError(f'{DATASET_KEY} must be a dict of kind, root and '
                         f'the fields of ShapesConfig; got {entry!r}.')
    names = [field.name for field in fields(ShapesConfig)]
    wanted = ['kind', 'root', *names]
    missing = [key for key in wanted if key not in entry]
    unknown = [key for key in entry if key not in wanted]
    if missing or unknown:
        raise ValueError(
            f'{DATASET_KEY} must name exactly {", ".join(wanted)}' +
            (f'; it lacks {", ".join(missing)}' if missing else '') +
            (f'; it has unknown {", ".join(unknown)}' if unknown else '') +
            '. See configs/demo/fpn_r50_shapes_seg.py for a whole one.')
    if entry['kind'] not in KINDS:
        raise ValueError(f'{DATASET_KEY}.kind is {entry["kind"]!r}; choose '
                         f'one of {", ".join(map(repr, KINDS))}.')
    try:
        params = ShapesConfig(**{name: entry[name] for name in names})
        check = KINDS[entry['kind']].check
        if check is not None:
            check(params)
    except ValueError as error:
        raise ValueError(f'{DATASET_KEY}: {error}') from error
    return ConfigDataset(entry['kind'], str(entry['root']), params)


def point_at_dataset(cfg: Any) -> Optional[ConfigDataset]:
    """Point ``cfg`` at the shapes dataset it names, by an absolute path.

    Sets ``DATASET_KEY.root`` (made absolute against the working directory)
    and the ``data_root`` of every dataset of the train, val and test
    dataloaders to that folder, and for ``'scenes'`` the ``ann_file`` of
    the val and test evaluators (mmdet's ``CocoMetric``) to its val
    annotations. A config that names no shapes dataset is left alone.

    Returns:
        ConfigDataset: The dataset, with its absolute root; None if ``cfg``
        names none.

    Raises:
        ValueError: As :func:`dataset_of`.
    """
    dataset = dataset_of(cfg)
    if dataset is None:
        return None
    root = osp.abspath(dataset.root)
    cfg[DATASET_KEY]['root'] = root
    for loader in LOADERS:
        for leaf, _ in leaf_datasets((cfg.get(loader) or {}).get('dataset'),
                                     loader):
            if isinstance(leaf, dict):
                leaf['data_root'] = root
    if dataset.kind == SCENES:
        for key in EVALUATORS:
            evaluators = cfg.get(key)
            for evaluator in (evaluators if isinstance(evaluators, list)
                              else [evaluators]):
                if isinstance(evaluator, dict) and 'ann_file' in evaluator:
                    evaluator['ann_file'] = annotation_path(root, 'val')
    return ConfigDataset(dataset.kind, root, dataset.params)


def parameter_changes(was: ShapesConfig, now: ShapesConfig) -> List[str]:
    """The fields that differ, as ``'field: was -> now'``."""
    old, new = asdict(was), asdict(now)
    return [f'{key}: {old[key]} -> {new[key]}' for key in new
            if old[key] != new[key]]


def redraw_unless_present(kind: str, root: str, params: ShapesConfig,
                          force: bool = False) -> bool:
    """Write a ``kind`` dataset unless ``root`` holds it with ``params``.

    A folder that holds another, an incomplete one or one of another
    version of the generator is drawn anew: the writer of
    ``tools/misc/make_demo_dataset.py``, asked for that folder by name
    (:func:`ensure_config_dataset` keeps such a folder instead).

    Args:
        kind (str): A key of ``KINDS``.
        root (str): Dataset root.
        params (ShapesConfig): Dataset parameters.
        force (bool): Rewrite even if ``root`` holds the same dataset.

    Returns:
        bool: Whether the dataset was (re)written.
    """
    if not force and KINDS[kind].read(root) == params:
        return False
    KINDS[kind].write(root, params)
    return True


def ensure_config_dataset(cfg: Mapping, dry_run: bool = False) -> bool:
    """Write the shapes dataset ``cfg`` names where it is missing.

    The one writer of the demos' data behind ``tools/demo.py`` and
    ``tools/paper/run_pairs.py --demo``. A folder that holds the dataset
    with these parameters is kept; one that is incomplete, or was written
    by another version of the generator, is written anew.

    Args:
        cfg (Mapping): A config naming its dataset (``DATASET_KEY``).
        dry_run (bool): Check only; write nothing.

    Returns:
        bool: Whether the dataset was written (with ``dry_run``: would be).

    Raises:
        ValueError: If ``cfg`` names no shapes dataset, or its folder holds
            a complete shapes dataset drawn with other parameters, or of
            another kind: that one is kept, and the message says how to
            name another folder.
    """
    dataset = dataset_of(cfg)
    if dataset is None:
        raise ValueError(
            f'The config names no shapes dataset to write: add a '
            f'{DATASET_KEY} (see configs/demo/fpn_r50_shapes_seg.py).')
    fix = (f'Give {DATASET_KEY}.root another folder (tools/paper/'
           f'run_pairs.py: --cfg-options {DATASET_KEY}.root=DIR; '
           f'tools/demo.py: --data-root DIR), or delete {dataset.root} to '
           f'have it drawn anew.')
    for kind, reader in KINDS.items():
        present = reader.read(dataset.root)
        if present is None:
            continue
        if kind != dataset.kind:
            raise ValueError(
                f'{dataset.root} holds a {kind!r} shapes dataset, and the '
                f'config asks for a {dataset.kind!r} one there. {fix}')
        if present == dataset.params:
            return False
        raise ValueError(
            f'{dataset.root} holds a shapes dataset drawn with other '
            f'parameters than the config\'s {DATASET_KEY} ('
            f'{", ".join(parameter_changes(present, dataset.params))}); it '
            f'is kept for the runs that read it. {fix}')
    if not dry_run:
        KINDS[dataset.kind].write(dataset.root, dataset.params)
    return True
