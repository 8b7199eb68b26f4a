from .rla_mobilenet_v2 import RLAInvertedResidual, RLAMobileNetV2
from .rla_resnet import RLABottleneck, RLAResNet

__all__ = [
    'RLABottleneck', 'RLAInvertedResidual', 'RLAMobileNetV2', 'RLAResNet'
]
