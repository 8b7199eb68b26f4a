from .shapes_classification import (CLASSIFICATION_SHAPES,
                                    ShapesClassificationDataset, render_split)

__all__ = [
    'CLASSIFICATION_SHAPES', 'ShapesClassificationDataset', 'render_split'
]
