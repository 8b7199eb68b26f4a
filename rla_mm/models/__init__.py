from .backbones import RLAResNet
from .classifiers import GAPClassifier

__all__ = ['GAPClassifier', 'RLAResNet']
