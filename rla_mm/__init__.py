"""rla_mm: Recurrent Layer Aggregation (RLA) backbones for OpenMMLab.

``import rla_mm`` registers the backbones in ``mmdet.registry.MODELS`` and,
when MMSegmentation is installed, in ``mmseg.registry.MODELS`` as well.
"""
from .engine import MainProcessLoggerHook, RNGStateHook
from .models import RLAResNet
from .registry import register_in_optional_registries
from .utils.safe_load import register_checkpoint_safe_globals

__version__ = '0.1.0'
__all__ = [
    'MainProcessLoggerHook', 'RLAResNet', 'RNGStateHook', '__version__'
]

register_in_optional_registries()
register_checkpoint_safe_globals()
