from .rla_resnet import RLABottleneck, RLAResNet

__all__ = ['RLABottleneck', 'RLAResNet']
