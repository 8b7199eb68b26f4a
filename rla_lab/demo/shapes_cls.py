"""The shapes demo as image classification, written as image folders.

The paper trains RLA-ResNet from scratch on ImageNet classification before
any detector sees it; this dataset is that setting at CPU scale. Each small
image holds one shape, drawn by :mod:`.shapes` (the textured backgrounds,
colours and noise of the other demos), and is labelled with its kind, one
of ten (``CLASSES``): the four shapes of the detection demo and six more, so
that top-5 accuracy says something (a guess gets 50% of it, 10% of top-1)
and the kinds that look alike at 32 pixels (circle, semicircle, crescent;
square, rectangle; triangle, arrow; star, cross) make a confusion matrix
worth reading.

The layout is MMPretrain's ``CustomDataset`` without an annotation file, a
folder per class named after it::

    root/train/<class>/<index>.png, root/val/<class>/<index>.png
    root/generator.json   the parameters; written last, so it marks a
                          complete dataset

Image ``i`` of a split shows ``CLASSES[i % 10]``, so the classes are
balanced, drawn from the generator of ``(seed, split, i)`` as the other
demos' images are: equal parameters give identical files, and a smaller
split is a prefix of a larger one.
"""
import json
import os
import os.path as osp
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from .shapes import (GENERATOR_VERSION, SPLITS, ShapesConfig, generator_info,
                     image_rng, render_image)

# In the order CustomDataset numbers them: sorted folder names.
CLASSES: Tuple[str, ...] = ('arrow', 'circle', 'crescent', 'cross', 'heart',
                            'rectangle', 'semicircle', 'square', 'star',
                            'triangle')
# One shape per image, larger relative to the image than in the scenes of
# the other demos (there 0.1-0.25 of 256 pixels): the radii decide how much
# a from-scratch RLA-ResNet-50 learns in the demo's 400 iterations (top-1 /
# top-5 on the 5000 val images, seed 0): 39% / 87% with radii of 0.25-0.45
# of the image, 59% / 97% with these, 78% / 99.6% with 0.38-0.5, where
# top-5 no longer tells models apart.
CLS_SHAPES = ShapesConfig(
    num_train=10000, num_val=5000, image_size=32, min_objects=1,
    max_objects=1, min_radius=0.32, max_radius=0.48)
INFO_FILE = 'generator.json'


def image_label(index: int) -> int:
    """The class of image ``index`` of a split, an index into ``CLASSES``."""
    return index % len(CLASSES)


def render_cls_image(cfg: ShapesConfig, split: str,
                     index: int) -> Tuple[np.ndarray, int]:
    """Image ``index`` of ``split`` and its label.

    Returns:
        tuple[np.ndarray, int]: (S, S, 3) uint8 RGB image and its index
        into ``CLASSES``.
    """
    label = image_label(index)
    image, _ = render_image(
        image_rng(cfg.seed, split, index), cfg, categories=(CLASSES[label], ))
    return image, label


def image_path(root: str, split: str, index: int) -> str:
    """Where image ``index`` of ``split`` is written: in its class folder."""
    return osp.join(root, split, CLASSES[image_label(index)],
                    f'{index:05d}.png')


def split_size(cfg: ShapesConfig, split: str) -> int:
    return cfg.num_train if split == 'train' else cfg.num_val


def _check_folders(root: str) -> None:
    """Refuse a root whose split folders hold other folders, which
    CustomDataset would take as more classes."""
    for split in SPLITS:
        folder = osp.join(root, split)
        others = sorted(
            name for name in (os.listdir(folder) if osp.isdir(folder) else [])
            if osp.isdir(osp.join(folder, name)) and name not in CLASSES)
        if others:
            raise ValueError(
                f'{folder} holds folders that are not classes of the shapes '
                f'classification demo ({", ".join(others)}), which '
                f'CustomDataset would take for classes: remove them or '
                f'write the dataset to another folder.')


def check_cls_config(cfg: ShapesConfig) -> None:
    """Refuse parameters that are not of a classification dataset.

    Raises:
        ValueError: If ``cfg`` draws more than one shape per image.
    """
    if cfg.max_objects != 1:
        raise ValueError(
            f'a classification image holds one shape; got max_objects='
            f'{cfg.max_objects}. Set min_objects=1 and max_objects=1.')


def write_cls_dataset(root: str, cfg: ShapesConfig) -> None:
    """Write both splits as class folders of PNGs, then ``INFO_FILE``.

    Raises:
        ValueError: If ``cfg`` draws more than one shape per image
            (``check_cls_config``), or a split folder holds folders that
            are not classes.
    """
    check_cls_config(cfg)
    _check_folders(root)
    info_file = Path(root, INFO_FILE)
    info_file.unlink(missing_ok=True)
    for split in SPLITS:
        # Every class gets its folder, even an empty one: CustomDataset
        # numbers the classes by the folders it finds.
        for name in CLASSES:
            folder = Path(root, split, name)
            folder.mkdir(parents=True, exist_ok=True)
            for stale in folder.glob('*.png'):
                stale.unlink()
        for index in range(split_size(cfg, split)):
            image, _ = render_cls_image(cfg, split, index)
            cv2.imwrite(image_path(root, split, index),
                        cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    info_file.write_text(
        json.dumps(dict(classes=list(CLASSES), **generator_info(cfg))))


def read_cls_generator_config(root: str) -> Optional[ShapesConfig]:
    """The parameters of a complete dataset under ``root``, else None.

    None too when it was written with other classes or by another version
    of the generator, or when an image is missing or one is too many.
    """
    path = osp.join(root, INFO_FILE)
    if not osp.isfile(path):
        return None
    with open(path) as f:
        info = json.load(f)
    params = info.get('generator')
    if (info.get('classes') != list(CLASSES)
            or info.get('generator_version') != GENERATOR_VERSION
            or not isinstance(params, dict)):
        return None
    try:
        cfg = ShapesConfig(**params)
    except (TypeError, ValueError):
        return None
    for split in SPLITS:
        count = sum(
            len(list(Path(root, split, name).glob('*.png')))
            for name in CLASSES)
        if count != split_size(cfg, split) or not all(
                osp.isfile(image_path(root, split, index))
                for index in range(count)):
            return None
    return cfg

