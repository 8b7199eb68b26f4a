"""The demos' data: synthetic shapes in COCO (detection, instance masks)
and MMSegmentation (label maps) format, and one shape per image in class
folders for MMPretrain (classification), generated offline from a seed.

Each demo config names the dataset it reads (``shapes_dataset``);
:mod:`.config_dataset` writes it where it is missing, for ``tools/demo.py``
and ``tools/paper/run_pairs.py`` (imported on its own: it needs rla_mm).
"""
from typing import Callable, Dict, NamedTuple

from .shapes import (CATEGORIES, SEG_CLASSES, ShapesConfig, annotation_path,
                     background_only_miou, build_split, ensure_dataset,
                     label_maps, seg_map_dir)
from .shapes_cls import CLASSES, CLS_SHAPES, ensure_cls_dataset


class DemoDataset(NamedTuple):
    """A demo's dataset as ``tools/misc/make_demo_dataset.py`` writes it by
    default: that of the demo configs (their ``shapes_dataset``).

    Attributes:
        defaults (ShapesConfig): The parameters the demo trains on.
        root (str): Where the demo writes and reads it.
        ensure (callable): ``ensure(root, cfg, force=False)`` writes the
            dataset unless ``root`` holds it with ``cfg``; returns whether
            it wrote.
    """
    defaults: ShapesConfig
    root: str
    ensure: Callable[..., bool]


# By demo task. Detection and segmentation read the same images. The demo
# configs of configs/demo/ name the same (tests/test_demo_data check it).
DEMO_DATASETS: Dict[str, DemoDataset] = {
    'det': DemoDataset(ShapesConfig(), 'data/demo_shapes', ensure_dataset),
    'seg': DemoDataset(ShapesConfig(), 'data/demo_shapes', ensure_dataset),
    'cls': DemoDataset(CLS_SHAPES, 'data/demo_shapes_cls',
                       ensure_cls_dataset),
}

__all__ = [
    'CATEGORIES', 'CLASSES', 'CLS_SHAPES', 'DEMO_DATASETS', 'DemoDataset',
    'SEG_CLASSES', 'ShapesConfig', 'annotation_path', 'background_only_miou',
    'build_split', 'ensure_cls_dataset', 'ensure_dataset', 'label_maps',
    'seg_map_dir'
]
