from .backbones import RLAResNet
from .necks import RLAClsNeck

__all__ = ['RLAClsNeck', 'RLAResNet']
