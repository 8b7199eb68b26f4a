"""Strict loading of backbone weights from released RLA checkpoints."""
from typing import Any, Dict, List, Mapping, Optional, Tuple

from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor

# The released ImageNet files also hold the classifier (a norm on the final
# hidden state and the fc layer); a detection backbone has no use for them.
CLASSIFIER_PREFIXES: Tuple[str, ...] = ('fc.', 'bn2.')
# Wrappers that training scripts put in front of every key.
WRAPPER_PREFIXES: Tuple[str, ...] = ('module.', )


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model it is loaded into."""


def is_pretrained_cfg(cfg: Any) -> bool:
    """Whether ``cfg`` is an ``init_cfg`` entry that loads a checkpoint.

    mmengine's ``BaseModule`` takes the type by name or as the class.
    """
    return isinstance(cfg, Mapping) and cfg.get('type') in ('Pretrained',
                                                            PretrainedInit)


def extract_state_dict(checkpoint: Mapping) -> Dict[str, Tensor]:
    """The weights of a loaded checkpoint file, wrapper prefixes removed.

    Accepts a bare state dict, or a dict with ``state_dict`` (mmengine and
    the released ImageNet ``.pth.tar`` files) or ``model``.
    """
    for key in ('state_dict', 'model'):
        if key in checkpoint and isinstance(checkpoint[key], Mapping):
            checkpoint = checkpoint[key]
            break
    state_dict = {}
    for key, value in checkpoint.items():
        for prefix in WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        state_dict[key] = value
    return state_dict


def _preview(keys: List[str], limit: int = 12) -> str:
    shown = ', '.join(keys[:limit])
    more = f', ... ({len(keys) - limit} more)' if len(keys) > limit else ''
    return f'{shown}{more}'


def match_state_dict(source: Mapping[str, Tensor],
                     target: Mapping[str, Tensor],
                     source_name: str = 'checkpoint',
                     model_name: str = 'model') -> Dict[str, Tensor]:
    """Check that ``source`` fits ``target`` exactly and return what to load.

    Classifier keys (``fc.*``, ``bn2.*``) are dropped; a missing
    ``num_batches_tracked`` buffer (older PyTorch) keeps the model's value.

    Raises:
        CheckpointMismatchError: listing missing keys, unexpected keys and
            shape mismatches, with a hint when the file is a plain ResNet's.
    """
    source = {
        k: v
        for k, v in source.items() if not k.startswith(CLASSIFIER_PREFIXES)
    }
    missing = [
        k for k in target
        if k not in source and not k.endswith('num_batches_tracked')
    ]
    unexpected = [k for k in source if k not in target]
    mismatched = [
        f'{k}: checkpoint {tuple(v.shape)} vs model '
        f'{tuple(target[k].shape)}' for k, v in source.items()
        if k in target and tuple(v.shape) != tuple(target[k].shape)
    ]
    if missing or unexpected or mismatched:
        lines = [f'{source_name} does not fit {model_name}:']
        if missing:
            lines.append(f'  missing keys ({len(missing)}): '
                         f'{_preview(missing)}')
        if unexpected:
            lines.append(f'  unexpected keys ({len(unexpected)}): '
                         f'{_preview(unexpected)}')
        if mismatched:
            lines.append(f'  shape mismatches ({len(mismatched)}): '
                         f'{_preview(mismatched, 6)}')
        if any(k.startswith('layer1.') for k in source):
            lines.append(
                '  This looks like a plain ResNet checkpoint (layer1.* keys).'
                ' RLAResNet needs RLA weights such as '
                'resnet50_rla_2283.pth.tar; for plain ResNet weights use '
                "type='ResNet'.")
        else:
            lines.append(
                '  Check depth, rla_channels and eca_kernel_sizes against the '
                'checkpoint, or set prefix= in init_cfg for a detector '
                "checkpoint (e.g. prefix='backbone.').")
        raise CheckpointMismatchError('\n'.join(lines))
    merged = dict(target)
    merged.update(source)
    return merged


def load_backbone_state_dict(filename: str,
                             target: Mapping[str, Tensor],
                             prefix: Optional[str] = None,
                             model_name: str = 'model') -> Dict[str, Tensor]:
    """Load ``filename`` and return a state dict that fits ``target``.

    Local files, URLs and mmengine's ``prefix://`` schemes are read by
    mmengine's ``CheckpointLoader`` (``torch.load`` with its default
    ``weights_only=True`` on torch >= 2.6, which the released files allow).

    Args:
        filename (str): Path or URL of the checkpoint.
        target (Mapping[str, Tensor]): The model's ``state_dict()``.
        prefix (str, optional): Keep only keys under this prefix, stripped,
            e.g. ``'backbone.'`` for a detector checkpoint.
        model_name (str): Name of the model for error messages.
    """
    checkpoint = CheckpointLoader.load_checkpoint(
        filename, map_location='cpu')
    state_dict = extract_state_dict(checkpoint)
    if prefix:
        state_dict = {
            k[len(prefix):]: v
            for k, v in state_dict.items() if k.startswith(prefix)
        }
        if not state_dict:
            raise CheckpointMismatchError(
                f'{filename} has no keys under prefix {prefix!r}.')
    return match_state_dict(state_dict, target, filename, model_name)
