"""Registration of rla_mm's modules in OpenMMLab registries."""
import importlib


def register_in_optional_registries() -> None:
    """Register our modules in MMSegmentation's registries, if installed.

    mmdet's registries get them through the ``register_module``
    decorators. MMSegmentation is optional; its configs (``default_scope =
    'mmseg'``) look types up in mmseg's registries, whose parent is
    mmengine's root, not mmdet's.
    """
    from rla_mm.engine import (MainProcessLoggerHook, RNGStateHook,
                                SharedStartHook)
    from rla_mm.models import RLAResNet
    try:
        registry = importlib.import_module('mmseg.registry')
    except ImportError:
        return
    registry.MODELS.register_module(module=RLAResNet, force=True)
    for hook in (MainProcessLoggerHook, RNGStateHook, SharedStartHook):
        registry.HOOKS.register_module(module=hook, force=True)
