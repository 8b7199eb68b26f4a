"""Shared initial weights for the twins of a pair trained from scratch.

Trained from independent initial draws, the twins of a seed differ by their
backbone and by the luck of their draws; pairing by seed removes none of
the second part. With coupled initial weights (common random numbers), both
twins start from one draw: the RLA twin takes every tensor the baseline has
from the baseline's initialization with the same seed, and keeps its own
draw only for what RLA adds (the convs and norms of the hidden state, and
the hidden-state input channels of each block's ``conv1`` and of a
classifier's fc, which also reads the pooled ``h``). Training draws
(dropout masks, flips) are made common as well: both twins re-seed right
before their first iteration (``rla_mm.engine.SharedStartHook``, which also
loads the weights written here).

Neither twin's initialization changes in distribution, as long as each
shared tensor is drawn from the same distribution in both twins: the
codebases' ResNets and ``RLAResNet`` draw convs from a Kaiming normal in
``fan_out`` mode, which does not depend on a conv's input channels (the
one shape that differs), and the necks and heads are the same modules
(MMPretrain's ``LinearClsHead`` draws its fc from N(0, 0.01), whatever its
inputs). So the expected paired delta stays what it is, and only its spread
over seeds can change. ``tests/test_paper/test_coupling.py`` checks both.
"""
import logging
import re
from typing import Dict, Mapping

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from torch import Tensor

from ..utils.codebases import build_in_scope, config_scope

BACKBONE = 'backbone.'
_RESNET_STAGE = re.compile(r'^layer(\d+)\.')


def rla_key(key: str) -> str:
    """The RLA twin's name of a baseline model's tensor.

    mmdet's and mmseg's ``ResNet`` call stage ``s`` ``layer<s + 1>``;
    ``RLAResNet`` calls it ``stages.<s>``. Other names are the same.

    Example:
        >>> rla_key('backbone.layer2.0.conv1.weight')
        'backbone.stages.1.0.conv1.weight'
    """
    if not key.startswith(BACKBONE):
        return key
    rest = _RESNET_STAGE.sub(lambda m: f'stages.{int(m.group(1)) - 1}.',
                             key[len(BACKBONE):])
    return BACKBONE + rest


def _is_wider_input(own: Tensor, shared: Tensor) -> bool:
    """Whether ``own`` is the conv or linear weight ``shared`` with more
    inputs."""
    return (own.dim() == shared.dim() and own.dim() in (2, 4)
            and own.shape[0] == shared.shape[0]
            and own.shape[2:] == shared.shape[2:]
            and own.shape[1] > shared.shape[1])


def couple_state_dicts(baseline: Mapping[str, Tensor],
                       rla: Mapping[str, Tensor]) -> Dict[str, Tensor]:
    """The RLA twin's initial state, sharing every tensor of the baseline's.

    A block's ``conv1`` reads ``cat([x, h])``, so its weight is
    (C_out, C_in + k, 1, 1) where the baseline's is (C_out, C_in, 1, 1): its
    first C_in input channels take the baseline's weight, the k channels of
    ``h`` keep the RLA twin's own draw. So does a classifier's fc, which
    reads the pooled ``h`` after the pooled features (``RLAClsNeck``).

    Args:
        baseline (Mapping[str, Tensor]): The baseline model's state dict.
        rla (Mapping[str, Tensor]): The RLA twin's state dict, from the same
            seed.

    Returns:
        dict[str, Tensor]: ``rla`` with the shared tensors replaced (new
        tensors; neither input is modified).

    Raises:
        ValueError: If a baseline tensor has no counterpart in the RLA twin,
            or one of another shape: the two models are not twins.
    """
    coupled = {key: value.clone() for key, value in rla.items()}
    for key, value in baseline.items():
        target = rla_key(key)
        own = coupled.get(target)
        if own is None:
            raise ValueError(
                f'The baseline\'s {key} has no counterpart {target} in the '
                f'RLA model: these are not twins that differ only in the '
                f'backbone, so their initial weights cannot be shared.')
        if own.shape == value.shape:
            coupled[target] = value.clone()
        elif _is_wider_input(own, value):
            own[:, :value.shape[1]] = value
        else:
            raise ValueError(
                f'The baseline\'s {key} is {tuple(value.shape)} but the RLA '
                f'model\'s {target} is {tuple(own.shape)}: these are not '
                f'twins that differ only in the backbone, so their initial '
                f'weights cannot be shared.')
    return coupled


def initial_state_dict(cfg: Config, seed: int) -> Dict[str, Tensor]:
    """The state of ``cfg.model`` built and initialized from torch's RNG
    seeded with ``seed`` (some modules draw when built).

    The global RNG state is restored afterwards, and mmengine's report of
    how each tensor was initialized (one log line per tensor) is held back.
    """
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = build_in_scope(cfg.model, config_scope(cfg))
            model.init_weights()
    finally:
        logger.setLevel(level)
    return model.state_dict()


def coupled_initial_states(baseline_cfg: Config, rla_cfg: Config,
                           seed: int) -> Dict[str, Dict[str, Tensor]]:
    """Both twins' initial states at ``seed``, the RLA one coupled.

    Returns:
        dict: ``{'baseline': state, 'rla': state}``; the baseline's is its
        own initialization, the RLA twin's is ``couple_state_dicts`` of the
        two.
    """
    baseline = initial_state_dict(baseline_cfg, seed)
    rla = couple_state_dicts(baseline, initial_state_dict(rla_cfg, seed))
    return dict(baseline=baseline, rla=rla)
