from .gap_classifier import GAPClassifier

__all__ = ['GAPClassifier']
