"""Let ``torch.load(weights_only=True)`` read mmengine's own checkpoints.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``, and
mmengine 0.10.7 (``load_checkpoint``, ``resume``, ``load_from``) calls it
without ``weights_only``. Besides tensors, mmengine's checkpoints pickle its
``MessageHub`` (``HistoryBuffer`` objects holding numpy arrays) and numpy
scalars, which the weights-only unpickler refuses. Rather than turning the
safety off, :func:`register_checkpoint_safe_globals` allow-lists exactly the
globals such a checkpoint refers to; any other global still fails to load.
"""
import pickle
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

# The statistics HistoryBuffer registers for itself in
# ``_set_default_statistics``; its ``__getstate__`` pickles them, and pickle
# protocol 2 stores a method of a class as ``getattr(HistoryBuffer, 'mean')``.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Callable:
    """``getattr`` as the unpickler may call it: HistoryBuffer's statistics.

    Registered in place of ``builtins.getattr``, which would otherwise let a
    checkpoint fetch any attribute of any object it can build.
    """
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed while loading with '
        f'weights_only=True: only the statistics methods of mmengine\'s '
        f'HistoryBuffer {_HISTORY_BUFFER_STATISTICS} may be looked up. If '
        f'you trust the file, allow what it needs with '
        f'torch.serialization.add_safe_globals.')


def checkpoint_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """The globals an mmengine training checkpoint refers to, and why.

    Returns:
        list: Entries for ``torch.serialization.add_safe_globals``.
    """
    return [
        # message_hub: the logged scalars, one HistoryBuffer each ...
        HistoryBuffer,
        # ... whose statistics methods are pickled through getattr.
        (_history_buffer_getattr, 'builtins.getattr'),
        # ... whose histories are numpy arrays, rebuilt by _reconstruct from
        # the ndarray type and a dtype: float64 values, int64 counts.
        np.core.multiarray._reconstruct,
        np.ndarray,
        np.dtype,
        type(np.dtype(np.float64)),  # numpy.dtypes.Float64DType
        type(np.dtype(np.int64)),  # numpy.dtypes.Int64DType
        # message_hub's runtime info holds numpy scalars too ('eta').
        np.core.multiarray.scalar,
    ]


def register_checkpoint_safe_globals() -> None:
    """Allow ``torch.load(weights_only=True)`` to read mmengine checkpoints.

    Idempotent; a no-op on torch versions without ``add_safe_globals``.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(checkpoint_safe_globals())
