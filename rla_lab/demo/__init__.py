"""The demos' data: synthetic shapes in COCO (detection, instance masks)
and MMSegmentation (label maps) format, and one shape per image in class
folders for MMPretrain (classification), generated offline from a seed.

Each demo config names the dataset it reads (``shapes_dataset``);
:mod:`.config_dataset` writes it where it is missing, for ``tools/demo.py``
and ``tools/paper/run_pairs.py`` (imported on its own: it needs rla_mm).
"""
from .shapes import (CATEGORIES, SEG_CLASSES, ShapesConfig, annotation_path,
                     background_only_miou, build_split, label_maps,
                     seg_map_dir)
from .shapes_cls import CLASSES, CLS_SHAPES

__all__ = [
    'CATEGORIES', 'CLASSES', 'CLS_SHAPES', 'SEG_CLASSES', 'ShapesConfig',
    'annotation_path', 'background_only_miou', 'build_split', 'label_maps',
    'seg_map_dir'
]
