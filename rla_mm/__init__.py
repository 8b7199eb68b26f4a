"""rla_mm: Recurrent Layer Aggregation (RLA) backbones for OpenMMLab.

``import rla_mm`` registers the backbones (``RLAResNet``, ``RLAMobileNetV2``)
and the hooks in mmdet's registries and, when MMSegmentation or MMPretrain
is installed, in theirs (with ``RLAClsNeck``, the classifier neck, in
MMPretrain's).
"""
from .engine import MainProcessLoggerHook, RNGStateHook
from .models import RLAClsNeck, RLAMobileNetV2, RLAResNet
from .registry import register_in_optional_registries
from .utils.safe_load import register_checkpoint_safe_globals

__version__ = '0.1.0'
__all__ = [
    'MainProcessLoggerHook', 'RLAClsNeck', 'RLAMobileNetV2', 'RLAResNet',
    'RNGStateHook', '__version__'
]

register_in_optional_registries()
register_checkpoint_safe_globals()
