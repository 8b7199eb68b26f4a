from .backbones import RLAResNet

__all__ = ['RLAResNet']
