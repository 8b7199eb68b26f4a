"""What MMDeploy 1.3.1 needs from a newer torch, applied only where needed.

MMDeploy 1.3.1 was written for torch <= 2.1. Its rewriters patch functions
while the TorchScript-based ONNX exporter traces the model, and its
symbolics use helpers of that exporter. Each shim below answers one change
of torch and is applied only when the installed torch has that change, so on
an older torch :func:`apply_mmdeploy_compat` changes nothing.

``import rla_mm`` does not import this module (the plugin stays light, and
the shims touch torch's ONNX exporter globally): ``tools/deploy.py`` and the
deployment tests call :func:`apply_mmdeploy_compat` before exporting.
"""
import functools
import importlib
import inspect
import warnings
from typing import List

import torch
import torch.onnx

# The exporter MMDeploy was written for moved here in torch 2.9; the public
# ``torch.onnx.utils`` became a module that re-exports its names.
TORCHSCRIPT_EXPORTER = 'torch.onnx._internal.torchscript_exporter.utils'
LEGACY_EXPORT_WARNING = 'You are using the legacy TorchScript-based ONNX'


def _exports_with_dynamo_by_default() -> bool:
    parameter = inspect.signature(torch.onnx.export).parameters.get('dynamo')
    return parameter is not None and parameter.default is True


def _use_torchscript_exporter() -> bool:
    """torch 2.9: ``torch.onnx.export`` defaults to ``dynamo=True``.

    The torch.export-based exporter does not run the Python code that
    MMDeploy's rewriters patch (it fails with ``KeyError: -1``), so MMDeploy's
    calls, which do not pass ``dynamo``, get the TorchScript exporter again.
    """
    if (not _exports_with_dynamo_by_default()
            or getattr(torch.onnx.export, '_rla_mm_compat', False)):
        return False
    export = torch.onnx.export

    @functools.wraps(export)
    def export_with_torchscript(*args, **kwargs):
        kwargs.setdefault('dynamo', False)
        with warnings.catch_warnings():
            # Chosen on purpose here; the exporter warns on every call.
            warnings.filterwarnings(
                'ignore', message=LEGACY_EXPORT_WARNING,
                category=DeprecationWarning)
            return export(*args, **kwargs)

    export_with_torchscript._rla_mm_compat = True
    torch.onnx.export = export_with_torchscript
    return True


def _restore_cast_long() -> bool:
    """torch 2.x removed ``_cast_Long`` from ``torch.onnx.symbolic_opset9``.

    The ``_cast_<Type>`` symbolics, deprecated since torch 2.0, are gone;
    MMDeploy's RoIAlign symbolic (Mask R-CNN, Faster R-CNN) imports
    ``_cast_Long`` to turn the RoIs' batch column into indices. It was a
    Cast to INT64, and so is this stand-in.
    """
    opset9 = importlib.import_module('torch.onnx.symbolic_opset9')
    if hasattr(opset9, '_cast_Long'):
        return False

    def _cast_Long(g, input, non_blocking):  # noqa: N802 (torch's name)
        return g.op('Cast', input,
                    to_i=torch.onnx._C_onnx.TensorProtoDataType.INT64)

    opset9._cast_Long = _cast_Long
    return True


def _reach_moved_model_to_graph() -> bool:
    """torch 2.9: the TorchScript exporter moved to ``torch.onnx._internal``.

    MMDeploy rewrites ``torch.onnx.utils._model_to_graph`` to run its ONNX
    graph passes (the opset-13 Squeeze/Unsqueeze fix, ``optimize=True``);
    the exporter now calls the function in its own module, so the same
    rewriter is registered under that name too.
    """
    try:
        importlib.import_module(TORCHSCRIPT_EXPORTER)
    except ImportError:
        return False
    from mmdeploy.apis.onnx.optimizer import model_to_graph__custom_optimizer
    from mmdeploy.core import FUNCTION_REWRITER
    FUNCTION_REWRITER.register_rewriter(
        f'{TORCHSCRIPT_EXPORTER}._model_to_graph')(
            model_to_graph__custom_optimizer)
    return True


_SHIMS = (_use_torchscript_exporter, _restore_cast_long,
          _reach_moved_model_to_graph)
_applied: List[str] = []
_done = False


def apply_mmdeploy_compat() -> List[str]:
    """Apply the shims the installed torch needs, once per process.

    Returns:
        list[str]: The names of the shims applied (none on a torch that
        MMDeploy 1.3.1 supports as it is).
    """
    global _done
    if not _done:
        _applied.extend(shim.__name__ for shim in _SHIMS if shim())
        _done = True
    return list(_applied)
