"""Which shape is in the image: the shapes demo as a classification task.

The paper trains RLA-ResNet from scratch on ImageNet classification before
any detector sees it. This dataset is that setting at CPU scale: small
images holding one shape each, drawn by :mod:`rla_mm.demo.shapes` (the same
shapes, colours, textured backgrounds and noise as the detection and
segmentation demos), labelled with the shape's category.

The images are rendered in memory when the dataset is built (about a
millisecond each at 32x32), so there are no files to write or to keep in
step with the generator: image ``i`` of a split is a pure function of the
generator's parameters, the split and ``i``, and a smaller split is a
prefix of a larger one.
"""
from dataclasses import replace
from typing import Dict, Tuple

import numpy as np
import torch
from mmdet.registry import DATASETS
from torch.utils.data import Dataset

from ..demo.shapes import CATEGORIES, ShapesConfig, image_rng, render_image

# One shape per image, drawn larger relative to the image than in the
# scenes of the other demos (there 0.1-0.25 of 256 pixels): at 32 pixels
# those would be 3 to 8 pixels across the radius, too few for a from-scratch
# ResNet-50 to tell a star from a circle in a few CPU minutes (37% accuracy
# after 400 iterations against 73% with these radii; docs/paired_demo.md).
CLASSIFICATION_SHAPES = ShapesConfig(
    image_size=32, min_objects=1, max_objects=1, min_radius=0.25,
    max_radius=0.45)


def render_split(cfg: ShapesConfig, split: str,
                 num_images: int) -> Tuple[np.ndarray, np.ndarray]:
    """Render ``num_images`` one-shape images of ``split`` with their labels.

    Args:
        cfg (ShapesConfig): Generator parameters; its ``min_objects`` and
            ``max_objects`` must both be 1 (one label per image).
        split (str): 'train' or 'val'.
        num_images (int): Images to render, >= 1.

    Returns:
        tuple[np.ndarray, np.ndarray]: (N, S, S, 3) uint8 RGB images and
        (N,) int64 labels, each an index into ``CATEGORIES``.
    """
    if cfg.max_objects != 1:
        raise ValueError(
            f'a classification image holds one shape; got max_objects='
            f'{cfg.max_objects}. Set min_objects=1 and max_objects=1.')
    if num_images < 1:
        raise ValueError(f'num_images must be >= 1, got {num_images}.')
    images, labels = [], []
    for index in range(num_images):
        image, shapes = render_image(image_rng(cfg.seed, split, index), cfg)
        images.append(image)
        labels.append(shapes[0].category)
    return np.stack(images), np.array(labels, np.int64)


@DATASETS.register_module()
class ShapesClassificationDataset(Dataset):
    """One-shape images of the demo shapes and their category.

    Args:
        split (str): 'train' or 'val'; the two draw different images.
        num_images (int): Images in the split.
        image_size (int): Width and height, >= 32.
        seed (int): Seed of the generator (not of the training).
        **shape_options: Other fields of :class:`ShapesConfig` (radii,
            noise) where not those of ``CLASSIFICATION_SHAPES``.

    An item is ``dict(inputs=(3, S, S) uint8 RGB tensor, data_samples=label)``
    with ``label`` an int index into ``metainfo['classes']``: the format
    mmengine's ``pseudo_collate`` and ``ImgDataPreprocessor`` expect.

    Examples:
        >>> dataset = ShapesClassificationDataset('val', num_images=4)
        >>> item = dataset[0]
        >>> item['inputs'].shape, dataset.metainfo['classes'][
        ...     item['data_samples']] in CATEGORIES
        (torch.Size([3, 32, 32]), True)
    """
    METAINFO: Dict[str, tuple] = dict(classes=CATEGORIES)

    def __init__(self,
                 split: str,
                 num_images: int,
                 image_size: int = CLASSIFICATION_SHAPES.image_size,
                 seed: int = 0,
                 **shape_options) -> None:
        cfg = replace(CLASSIFICATION_SHAPES, image_size=image_size,
                      seed=seed, **shape_options)
        images, labels = render_split(cfg, split, num_images)
        self.images = torch.from_numpy(images).permute(0, 3, 1, 2)
        self.labels = labels.tolist()
        self.metainfo = dict(self.METAINFO)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=self.images[index],
                    data_samples=self.labels[index])
