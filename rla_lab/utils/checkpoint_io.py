"""Reading and publishing checkpoint files, shared by the model converters.

Files are read with ``torch.load(weights_only=True)``: tensors and plain
Python containers only, no arbitrary code run by unpickling. The released
RLA-Net files need nothing more (the ImageNet files hold ``epoch``, ``arch``,
``state_dict``, ``best_acc1`` and ``optimizer``; mmdet 2.x detector files
``meta`` with strings and numbers, ``state_dict`` and ``optimizer``).

Files are written by mmengine's ``fileio.put``. What this module adds to the
libraries: mmengine's ``CheckpointLoader`` has no switch between
weights-only and full unpickling, nor an error that names the flag; mmdet's
``tools/model_converters/publish_model.py`` is a script (not importable, it
hashes through a ``sha256sum`` subprocess and renames through an unawaited
``mv``) and mmengine's ``CheckpointHook`` names a published file by the hash
of the pickled dict rather than of the file, so
``torch.hub.load_state_dict_from_url(check_hash=True)`` would refuse it.
"""
import hashlib
import io
import os
import os.path as osp
import pickle
from typing import Any, Tuple

import torch
from mmengine import fileio

# The converters' flag that turns weights-only loading off.
UNSAFE_FLAG = '--trust-pickle'


class UnsafeCheckpointError(ValueError):
    """A file holds objects that weights-only loading refuses to build."""


def load_checkpoint_file(path: str, trust_pickle: bool = False) -> Any:
    """Load ``path`` on CPU, weights-only unless ``trust_pickle``.

    Ours, not mmengine's ``CheckpointLoader``: that one leaves
    ``weights_only`` to torch's default, with no way to trust a file nor an
    error saying how.

    Raises:
        FileNotFoundError: If there is no such file.
        UnsafeCheckpointError: If the file holds objects that weights-only
            loading refuses, naming them and the flag that allows them.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist.')
    try:
        return torch.load(path, map_location='cpu',
                          weights_only=not trust_pickle)
    except pickle.UnpicklingError as error:
        raise UnsafeCheckpointError(
            f'{path} holds Python objects that torch.load(weights_only=True) '
            f'refuses to build:\n{error}\nOnly if you trust where the file '
            f'comes from, rerun with {UNSAFE_FLAG}: it is then unpickled '
            f'fully, which can run code, and the file written holds tensors '
            f'and plain values only.') from None


def publish(checkpoint: dict, out_file: str) -> Tuple[str, str]:
    """Save ``checkpoint`` as ``<out_file stem>-<sha256[:8]>.pth``.

    The suffix is the first 8 hex digits of the SHA-256 of the file written,
    as in mmdet's published weights (and as ``torch.hub``'s ``check_hash``
    expects), so a file name tells which content it has. The checkpoint is
    serialized through a buffer, as mmengine's ``save_checkpoint`` does, so
    the bytes (and the name) depend on the content alone, not on
    ``out_file``.

    Args:
        checkpoint (dict): What to save, e.g. ``meta`` and ``state_dict``.
        out_file (str): The path to name the file after; its extension is
            replaced by ``-<sha256[:8]>.pth``. Missing folders are created.

    Returns:
        tuple[str, str]: The path written and the file's SHA-256 (hex).
    """
    # Not mmengine's save_checkpoint, which writes the same bytes but warns
    # twice per call of its deprecated FileClient (mmengine 0.10.7), nor
    # mmdet's publish_model (see above). Ours: the hash of the bytes and the
    # name made of it.
    with io.BytesIO() as buffer:
        torch.save(checkpoint, buffer)
        data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    stem = osp.splitext(out_file)[0]
    final_file = f'{stem}-{digest[:8]}.pth'
    tmp_file = stem + '.tmp.pth'
    fileio.put(data, tmp_file)  # creates missing folders
    # Ours: renamed at once, so that no file under the final name holds
    # less than the content its name says.
    os.replace(tmp_file, final_file)
    return final_file, digest
