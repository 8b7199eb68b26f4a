"""Reading and publishing checkpoint files, shared by the model converters.

Files are read with ``torch.load(weights_only=True)``: tensors and plain
Python containers only, no arbitrary code run by unpickling. The released
RLA-Net files need nothing more (the ImageNet files hold ``epoch``, ``arch``,
``state_dict``, ``best_acc1`` and ``optimizer``; mmdet 2.x detector files
``meta`` with strings and numbers, ``state_dict`` and ``optimizer``).
"""
import hashlib
import os
import os.path as osp
import pickle
from typing import Any, Tuple

import torch

# The converters' flag that turns weights-only loading off.
UNSAFE_FLAG = '--trust-pickle'


class UnsafeCheckpointError(ValueError):
    """A file holds objects that weights-only loading refuses to build."""


def load_checkpoint_file(path: str, trust_pickle: bool = False) -> Any:
    """Load ``path`` on CPU, weights-only unless ``trust_pickle``.

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

    The hash suffix follows mmdet's published weights, so a file name tells
    which content it has.

    Returns:
        tuple[str, str]: The path written and the file's SHA-256 (hex).
    """
    out_dir = osp.dirname(osp.abspath(out_file))
    os.makedirs(out_dir, exist_ok=True)
    stem = osp.splitext(out_file)[0]
    tmp_file = stem + '.tmp.pth'
    torch.save(checkpoint, tmp_file)
    sha256 = hashlib.sha256()
    with open(tmp_file, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            sha256.update(chunk)
    digest = sha256.hexdigest()
    final_file = f'{stem}-{digest[:8]}.pth'
    os.replace(tmp_file, final_file)
    return final_file, digest
