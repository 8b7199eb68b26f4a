"""Registration of rla_mm's modules in OpenMMLab registries."""
import importlib

# The codebases besides mmdet whose configs may name our modules: their
# configs (``default_scope = 'mmseg'`` / ``'mmpretrain'``) look types up in
# their own registries, whose parent is mmengine's root, not mmdet's.
OPTIONAL_SCOPES = ('mmseg', 'mmpretrain')


def register_in_optional_registries() -> None:
    """Register our modules in MMSegmentation's and MMPretrain's registries.

    mmdet's registries get them through the ``register_module``
    decorators. Each other codebase is optional and registered only when
    it is installed. The classifier neck is MMPretrain's alone.
    """
    from rla_mm.engine import (MainProcessLoggerHook, RNGStateHook,
                                SharedStartHook)
    from rla_mm.models import RLAClsNeck, RLAMobileNetV2, RLAResNet

    # mmseg's MobileNetV2 takes other arguments (strides, dilations):
    # RLAMobileNetV2 is a drop-in for mmdet's and mmpretrain's only.
    models = {
        'mmseg': (RLAResNet, ),
        'mmpretrain': (RLAResNet, RLAMobileNetV2, RLAClsNeck)
    }
    for scope in OPTIONAL_SCOPES:
        try:
            registry = importlib.import_module(f'{scope}.registry')
        except ImportError:
            continue
        for model in models[scope]:
            registry.MODELS.register_module(module=model, force=True)
        for hook in (MainProcessLoggerHook, RNGStateHook, SharedStartHook):
            registry.HOOKS.register_module(module=hook, force=True)
