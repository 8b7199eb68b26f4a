"""The neck of the authors' ImageNet classifiers, for MMPretrain.

RLA-Net's classifier pools two things and concatenates them before the fc
layer: the last stage's output and the final hidden state ``h`` after a
norm and a ReLU (``bn2`` in the released files). With an ``RLAResNet`` built
with ``out_indices=(3, )`` and ``return_hidden=True``, this neck and
MMPretrain's stock ``LinearClsHead`` (``in_channels`` = C + k) make exactly
the authors' network.
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from rla_mm.utils.typing_utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


class RLAClsNeck(BaseModule):
    """Pool the last feature map and ReLU(norm(h)), and concatenate them.

    Args:
        rla_channels (int): Channels ``k`` of the hidden state.
        norm_cfg (dict): Config of the norm on ``h`` (``bn2``).
        init_cfg (dict or list[dict], optional): Initialization config.

    Example:
        >>> import torch
        >>> neck = RLAClsNeck(rla_channels=32).eval()
        >>> x, h = torch.rand(2, 2048, 7, 7), torch.rand(2, 32, 7, 7)
        >>> tuple(neck((x, h))[0].shape)
        (2, 2080)
    """

    def __init__(self,
                 rla_channels: int = 32,
                 norm_cfg: ConfigType = dict(type='BN'),
                 init_cfg: OptMultiConfig = dict(
                     type='Constant', val=1, layer='_BatchNorm')) -> None:
        if not isinstance(rla_channels, int) or rla_channels < 1:
            raise ValueError(f'rla_channels must be a positive integer, got '
                             f'{rla_channels!r} (the paper uses 32).')
        super().__init__(init_cfg)
        self.rla_channels = rla_channels
        self.bn2 = build_norm_layer(norm_cfg, rla_channels)[1]
        self.relu = nn.ReLU(inplace=True)

    def forward(self, inputs: Sequence[Tensor]) -> Tuple[Tensor]:
        """The classifier's features.

        Args:
            inputs (Sequence[Tensor]): The backbone's outputs, ending with
                the last feature map, (N, C, H, W), and the final hidden
                state, (N, k, H, W) (``return_hidden=True``).

        Returns:
            tuple[Tensor]: One (N, C + k) tensor, as MMPretrain's heads take.
        """
        if len(inputs) < 2 or inputs[-1].shape[1] != self.rla_channels:
            shapes = [tuple(t.shape) for t in inputs]
            raise ValueError(
                f'RLAClsNeck takes (..., features, h) with h of '
                f'{self.rla_channels} channels, got shapes {shapes}; build '
                f'the backbone with return_hidden=True.')
        x, h = inputs[-2], inputs[-1]
        h = self.relu(self.bn2(h))
        pooled = torch.cat((x.mean(dim=(2, 3)), h.mean(dim=(2, 3))), dim=1)
        return (pooled, )
