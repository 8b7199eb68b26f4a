from .backbones import RLAMobileNetV2, RLAResNet
from .necks import RLAClsNeck

__all__ = ['RLAClsNeck', 'RLAMobileNetV2', 'RLAResNet']
