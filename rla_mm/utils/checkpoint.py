"""Strict loading of released RLA checkpoints: into a backbone, or whole
into MMPretrain's classifier.

Files are read by mmengine (``CheckpointLoader``, and
``_load_checkpoint_with_prefix`` for a ``prefix``, as its ``Pretrained``
initializer reads them). What this module adds: mmengine's
``load_state_dict`` only warns about keys that do not fit (and raises, when
strict, on rank 0 alone, with every key in one line); here any mismatch
raises :class:`CheckpointMismatchError` on every rank, listing missing,
unexpected and mis-shaped keys with advice for the usual wrong files, and
the authors' released ImageNet files are keyed for MMPretrain's classifier.
"""
import warnings
from typing import (Any, Callable, Dict, List, Mapping, Optional,
                    Sequence, Tuple)

from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.model.weight_init import PretrainedInit
from mmengine.runner.checkpoint import (CheckpointLoader,
                                        _load_checkpoint_with_prefix)
from torch import Tensor, nn

# The released ImageNet files also hold the classifier (a norm on the final
# hidden state and the fc layer); a detection backbone has no use for them.
CLASSIFIER_PREFIXES: Tuple[str, ...] = ('fc.', 'bn2.')
# The released files' fc layer, LinearClsHead's head.fc in MMPretrain: the
# ResNets' fc, MobileNetV2's classifier.1 (classifier.0 is its dropout).
RELEASED_FC_PREFIXES: Tuple[str, ...] = ('fc.', 'classifier.1.')
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


def pretrained_entry(init_cfg: Any, model_name: str) -> Optional[dict]:
    """The Pretrained entry of ``init_cfg`` (a dict or a list), if any.

    Raises:
        ValueError: If a list holds more than one.
    """
    entries = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
    pretrained = [c for c in entries if is_pretrained_cfg(c)]
    if len(pretrained) > 1:
        raise ValueError(
            f'{model_name} loads one checkpoint, but init_cfg has '
            f'{len(pretrained)} Pretrained entries: {pretrained!r}; keep '
            f'one.')
    return pretrained[0] if pretrained else None


def resolve_init_cfg(init_cfg: Any, pretrained: Optional[str],
                     model_name: str) -> Any:
    """Merge a model-level ``pretrained`` (as MMSegmentation passes it).

    The backbone's own Pretrained ``init_cfg`` (or Pretrained entry of an
    ``init_cfg`` list) wins over an inherited ``pretrained``, with a
    warning; ``pretrained`` alone means a (strict) Pretrained load.

    Raises:
        ValueError: For two Pretrained entries, a ``pretrained`` that is no
            path, or a ``pretrained`` beside an ``init_cfg`` without one.
    """
    own = pretrained_entry(init_cfg, model_name)  # raises at construction
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise ValueError(f'pretrained must be a checkpoint path or URL, got '
                         f'{pretrained!r}.')
    if init_cfg is None:
        return dict(type='Pretrained', checkpoint=pretrained)
    if own is not None:
        warnings.warn(
            f'{model_name}: ignoring pretrained={pretrained!r} (set at the '
            f'model level, e.g. by an inherited mmseg config) because the '
            f'backbone\'s init_cfg loads {own.get("checkpoint")!r}. Set '
            f'model.pretrained=None in your config to silence this.')
        return init_cfg
    raise ValueError(
        f'{model_name} got both pretrained={pretrained!r} and an init_cfg '
        f'without a Pretrained entry, init_cfg={init_cfg!r}; keep one: set '
        f'model.pretrained=None to train from the init_cfg, or drop the '
        f'init_cfg.')


def extract_state_dict(checkpoint: Mapping) -> Dict[str, Tensor]:
    """The weights of a loaded checkpoint file, wrapper prefixes removed.

    Accepts a bare state dict, or a dict with ``state_dict`` (mmengine and
    the released ImageNet ``.pth.tar`` files) or ``model``.
    """
    # Ours: mmengine does this only inside _load_checkpoint_to_model, which
    # also loads into a module, and does not look under ``model``.
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


def _mismatches(source: Mapping[str, Tensor],
                target: Mapping[str, Tensor]) -> List[str]:
    """Lines listing what keeps ``source`` from loading into ``target``.

    A missing ``num_batches_tracked`` buffer (older PyTorch) is no mismatch.
    """
    # Ours: torch's and mmengine's load_state_dict need the module and give
    # one message with every key (mmengine's only a warning unless strict);
    # this counts and previews each kind from the state dicts alone, for
    # the error with its hint and for the converters, which have no module.
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
    lines = []
    if missing:
        lines.append(f'  missing keys ({len(missing)}): {_preview(missing)}')
    if unexpected:
        lines.append(f'  unexpected keys ({len(unexpected)}): '
                     f'{_preview(unexpected)}')
    if mismatched:
        lines.append(f'  shape mismatches ({len(mismatched)}): '
                     f'{_preview(mismatched, 6)}')
    return lines


def match_state_dict(source: Mapping[str, Tensor],
                     target: Mapping[str, Tensor],
                     source_name: str = 'checkpoint',
                     model_name: str = 'model',
                     classifier_prefixes: Sequence[str] = CLASSIFIER_PREFIXES,
                     hint: Optional[Callable[[List[str]], str]] = None
                     ) -> Dict[str, Tensor]:
    """Check that ``source`` fits ``target`` exactly and return what to load.

    Classifier keys (``classifier_prefixes``: RLA-ResNet's ``fc.*`` and
    ``bn2.*`` by default) are dropped; a missing ``num_batches_tracked``
    buffer (older PyTorch) keeps the model's value. ``hint``, given the
    file's keys, returns the advice line of the error (RLA-ResNet's by
    default).

    Raises:
        CheckpointMismatchError: listing missing keys, unexpected keys and
            shape mismatches, with a hint when the file is a plain ResNet's.
    """
    source = {
        k: v
        for k, v in source.items() if not k.startswith(
            tuple(classifier_prefixes))
    }
    problems = _mismatches(source, target)
    if problems:
        lines = [f'{source_name} does not fit {model_name}:', *problems]
        if hint is not None:
            lines.append(hint(list(source)))
        elif any(k.startswith('layer1.') for k in source):
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


def to_classifier_layout(state_dict: Mapping[str, Tensor],
                         target: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """Key an authors' ImageNet state dict as MMPretrain's classifier.

    The released files hold the backbone at the top level, the fc layer
    (``RELEASED_FC_PREFIXES``, ``head.fc`` of ``LinearClsHead``) and, for
    RLA-ResNet, ``bn2`` (the norm on the final hidden state, in
    ``RLAClsNeck``; RLA-MobileNetV2's is in its backbone). Each key goes to
    the part of ``target`` (the classifier's state dict) that holds it; a
    key no part holds stays under ``backbone.``, to be reported. A state
    dict already keyed by part (``backbone.*``, as mmengine saves an
    ``ImageClassifier``) is returned unchanged.
    """
    if any(k.startswith('backbone.') for k in state_dict):
        return dict(state_dict)
    converted = {}
    for key, value in state_dict.items():
        fc = next((p for p in RELEASED_FC_PREFIXES if key.startswith(p)),
                  None)
        if fc is not None:
            key = 'head.fc.' + key[len(fc):]
        elif 'neck.' + key in target:
            key = 'neck.' + key
        else:
            key = 'backbone.' + key
        converted[key] = value
    return converted


def match_classifier_state_dict(source: Mapping[str, Tensor],
                                target: Mapping[str, Tensor],
                                source_name: str = 'checkpoint',
                                model_name: str = 'classifier'
                                ) -> Dict[str, Tensor]:
    """Check that ``source`` fits an ``ImageClassifier`` exactly.

    ``source`` is an authors' ImageNet state dict or an MMPretrain one
    (:func:`to_classifier_layout`); every key counts, the head's included.

    Raises:
        CheckpointMismatchError: listing what does not fit, with what to do
            for a detector or segmentor checkpoint and for another number
            of classes.
    """
    source = to_classifier_layout(source, target)
    problems = _mismatches(source, target)
    if not problems:
        merged = dict(target)
        merged.update(source)
        return merged
    lines = [f'{source_name} does not fit {model_name}:', *problems]
    others = sorted({k.split('.', 1)[0] for k in source} -
                    {k.split('.', 1)[0] for k in target})
    head = [k for k in target if k.startswith('head.')]
    if others:
        lines.append(
            f'  It holds {", ".join(others)}: a detector or segmentor '
            f'checkpoint. A classifier takes only its backbone: load it '
            f"with model.backbone.init_cfg=dict(type='Pretrained', "
            f"checkpoint=..., prefix='backbone.') and train the head.")
    elif head and all(k in source for k in head) and any(
            source[k].shape != target[k].shape for k in head):
        file_classes = source[head[0]].shape[0]
        model_classes = target[head[0]].shape[0]
        lines.append(
            f'  The file\'s head has {file_classes} classes, the model '
            f'{model_classes}. To fine-tune on {model_classes} classes, drop '
            f'the head ({", ".join(head)}) and the neck by loading the '
            f"backbone alone: model.backbone.init_cfg=dict(type='Pretrained',"
            f' checkpoint=...) (a released file as it is; add '
            f"prefix='backbone.' for an MMPretrain checkpoint); or set "
            f'model.head.num_classes={file_classes}.')
    else:
        lines.append(
            '  Check the backbone (depth, rla_channels, eca_kernel_sizes, '
            'groups) and the neck and head against the checkpoint.')
    raise CheckpointMismatchError('\n'.join(lines))


def load_backbone_state_dict(filename: str,
                             target: Mapping[str, Tensor],
                             prefix: Optional[str] = None,
                             model_name: str = 'model',
                             classifier_prefixes: Sequence[str] = (
                                 CLASSIFIER_PREFIXES),
                             hint: Optional[Callable[[List[str]], str]] = None
                             ) -> Dict[str, Tensor]:
    """Load ``filename`` and return a state dict that fits ``target``.

    Local files, URLs and mmengine's ``prefix://`` schemes are read by
    mmengine's ``CheckpointLoader`` (``torch.load`` with its default
    ``weights_only=True`` on torch >= 2.6, which the released files allow);
    with a ``prefix``, through mmengine's ``_load_checkpoint_with_prefix``,
    as mmengine's ``Pretrained`` initializer reads it.

    Args:
        filename (str): Path or URL of the checkpoint.
        target (Mapping[str, Tensor]): The model's ``state_dict()``.
        prefix (str, optional): Keep only keys under this prefix, stripped,
            e.g. ``'backbone.'`` for a detector checkpoint (mmengine adds a
            missing final dot). The keys are looked up in the file's
            ``state_dict`` (or the file itself), as mmengine does.
        model_name (str): Name of the model for error messages.
        classifier_prefixes (Sequence[str]): Keys to ignore, the released
            file's classifier (see :func:`match_state_dict`).
        hint (Callable, optional): Advice for a mismatch, from the keys
            (see :func:`match_state_dict`).

    Raises:
        CheckpointMismatchError: If no key is under ``prefix``, or the
            weights do not fit ``target`` (see :func:`match_state_dict`).
    """
    if not prefix:
        checkpoint = CheckpointLoader.load_checkpoint(
            filename, map_location='cpu')
        state_dict = extract_state_dict(checkpoint)
    else:
        # Ours: our error for mmengine's bare assert that some key is under
        # the prefix (an assert that ``python -O`` drops: checked again).
        try:
            state_dict = _load_checkpoint_with_prefix(
                prefix, filename, map_location='cpu')
        except AssertionError:
            state_dict = {}
        if not state_dict:
            raise CheckpointMismatchError(
                f'{filename} has no keys under prefix {prefix!r}.')
    return match_state_dict(state_dict, target, filename, model_name,
                            classifier_prefixes, hint)


def load_classifier_state_dict(filename: str,
                               target: Mapping[str, Tensor],
                               model_name: str = 'classifier'
                               ) -> Dict[str, Tensor]:
    """Load ``filename`` whole and return a state dict that fits ``target``.

    ``filename`` is an authors' ImageNet file (``resnet50_rla_2283.pth.tar``
    and the like) or a checkpoint of an MMPretrain ``ImageClassifier``;
    ``target`` that classifier's ``state_dict()``. See
    :func:`match_classifier_state_dict`.
    """
    checkpoint = CheckpointLoader.load_checkpoint(
        filename, map_location='cpu')
    return match_classifier_state_dict(
        extract_state_dict(checkpoint), target, filename, model_name)


def load_classifier(model: nn.Module, filename: str) -> None:
    """Load ``filename`` whole and strictly into an ``ImageClassifier``.

    Unlike mmengine's ``load_from``, which only warns about keys that do
    not fit, any mismatch raises (see :func:`match_classifier_state_dict`),
    and the authors' released files load as they are.

    Args:
        model (nn.Module): The classifier, or a wrapper around it (DDP,
            a test-time augmentation model).
        filename (str): An authors' ImageNet file or an MMPretrain
            checkpoint of this classifier.
    """
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    state_dict = load_classifier_state_dict(
        filename, model.state_dict(), type(model).__name__)
    model.load_state_dict(state_dict, strict=True)
