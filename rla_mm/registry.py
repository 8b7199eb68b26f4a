"""Registration of rla_mm's modules in OpenMMLab registries."""
import importlib

# Registries of optional OpenMMLab codebases that can use our backbones.
OPTIONAL_MODEL_REGISTRIES = ('mmseg.registry', )


def register_in_optional_registries() -> None:
    """Register the backbones in every optional codebase that is installed.

    mmdet's ``MODELS`` gets them through the ``register_module`` decorator;
    MMSegmentation is not a dependency, so it is only used when importable.
    """
    from rla_mm.models import RLAResNet
    for name in OPTIONAL_MODEL_REGISTRIES:
        try:
            registry = importlib.import_module(name).MODELS
        except ImportError:
            continue
        registry.register_module(module=RLAResNet, force=True)
