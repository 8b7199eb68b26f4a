"""Registration of rla_mm's modules in the OpenMMLab codebases' registries.

A config looks its types up in the registries of its ``default_scope``
(``'mmdet'``, ``'mmseg'``, ``'mmpretrain'``), whose parent is mmengine's
root, not each other's: our modules are registered in each codebase that
is installed, and the plugin needs none of them in particular.
"""
import importlib
from typing import Dict, List, Tuple

# The codebases whose configs may name our modules, by scope: their
# distributions (what ``pip install`` takes).
DISTRIBUTIONS: Dict[str, str] = {
    'mmdet': 'mmdet',
    'mmseg': 'mmsegmentation',
    'mmpretrain': 'mmpretrain',
}


def _models_by_scope() -> Dict[str, Tuple[type, ...]]:
    from rla_mm.models import RLAClsNeck, RLAMobileNetV2, RLAResNet

    # mmseg's MobileNetV2 takes other arguments (strides, dilations):
    # RLAMobileNetV2 is a drop-in for mmdet's and mmpretrain's only. The
    # classifier neck is MMPretrain's alone.
    return {
        'mmdet': (RLAResNet, RLAMobileNetV2),
        'mmseg': (RLAResNet, ),
        'mmpretrain': (RLAResNet, RLAMobileNetV2, RLAClsNeck),
    }


def register_in_installed_codebases() -> List[str]:
    """Register our models and hooks in each installed codebase.

    Returns:
        list[str]: The scopes registered in, e.g. ``['mmdet', 'mmseg']``.

    Raises:
        ImportError: If none of mmdet, mmseg and mmpretrain is installed.
    """
    from rla_mm.engine import (MainProcessLoggerHook, RNGStateHook,
                               SharedStartHook)

    registered = []
    for scope, models in _models_by_scope().items():
        try:
            registry = importlib.import_module(f'{scope}.registry')
        except ImportError:
            continue
        for model in models:
            registry.MODELS.register_module(module=model, force=True)
        for hook in (MainProcessLoggerHook, RNGStateHook, SharedStartHook):
            registry.HOOKS.register_module(module=hook, force=True)
        registered.append(scope)
    if not registered:
        raise ImportError(
            'rla_mm registers its backbones in an OpenMMLab codebase, and '
            'none is installed: pip install one of '
            f'{", ".join(DISTRIBUTIONS.values())} (e.g. pip install mmdet).')
    return registered
