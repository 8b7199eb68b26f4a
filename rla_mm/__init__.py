"""rla_mm: Recurrent Layer Aggregation (RLA) backbones for OpenMMLab.

``import rla_mm`` registers the backbones (``RLAResNet``, ``RLAMobileNetV2``)
and the hooks in the registries of each installed codebase among mmdet,
MMSegmentation and MMPretrain (with ``RLAClsNeck``, the classifier neck, in
MMPretrain's); one of them is enough.
"""
from .engine import MainProcessLoggerHook, RNGStateHook
from .models import RLAClsNeck, RLAMobileNetV2, RLAResNet
from .registry import register_in_installed_codebases
from .utils.safe_load import register_checkpoint_safe_globals

__version__ = '0.1.0'
__all__ = [
    'MainProcessLoggerHook', 'RLAClsNeck', 'RLAMobileNetV2', 'RLAResNet',
    'RNGStateHook', '__version__'
]

register_in_installed_codebases()
register_checkpoint_safe_globals()
