from .shapes import CATEGORIES, ShapesConfig, build_split, ensure_dataset

__all__ = ['CATEGORIES', 'ShapesConfig', 'build_split', 'ensure_dataset']
