"""The demos' data: synthetic shapes in COCO (detection, instance masks)
and MMSegmentation (label maps) format, generated offline from a seed."""
from .shapes import (CATEGORIES, SEG_CLASSES, ShapesConfig, annotation_path,
                     background_only_miou, build_split, ensure_dataset,
                     label_maps, seg_map_dir)

__all__ = [
    'CATEGORIES', 'SEG_CLASSES', 'ShapesConfig', 'annotation_path',
    'background_only_miou', 'build_split', 'ensure_dataset', 'label_maps',
    'seg_map_dir'
]
