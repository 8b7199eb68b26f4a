"""RLA-ResNet: ResNet with Recurrent Layer Aggregation.

Architecture of "Recurrence along Depth: Deep Convolutional Neural Networks
with Recurrent Layer Aggregation" (Zhao et al., NeurIPS 2021), written for
MMDetection 3.x and MMSegmentation 1.x. A small hidden state ``h``
(``rla_channels`` channels) runs alongside the residual stream: every block
reads ``cat([x, h])`` and, after every block with output ``y``::

    h = recurrent_convs[s](tanh(stage_bns[s][j](h + conv_outs[s](y))))

Parameter names follow the authors' released checkpoints exactly, so their
ImageNet weights load without conversion.

``RLAResNet.forward`` and ``RLAResNet._rla_update`` are the whole idea. Two
fast paths compute the same function with fewer passes over memory; each is
a small helper below with its own test against the literal definition, and
``RLAResNet.set_fast_paths`` switches each off for the benchmark's ablation:

- ``conv1x1_split``: a block's conv1 over ``cat([x, h])`` without building
  the concatenation.
- ``fused_conv1x1``: ``conv_outs[s](y)`` and the next block's conv1 on ``y``
  as one convolution over ``y``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer
from rla_mm.utils.typing_utils import (ConfigType, OptConfigType,
                                         OptMultiConfig)
from mmengine.model import BaseModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from torch import Tensor

from rla_mm.utils.checkpoint import (load_backbone_state_dict,
                                     pretrained_entry, resolve_init_cfg)

# ECA-RLA-Net's kernel sizes, one per stage (the paper's ImageNet models).
PAPER_ECA_KERNEL_SIZES: Tuple[int, ...] = (5, 5, 5, 7)
# conv_cfg types that build a plain nn.Conv2d, whose weight the fast paths
# may slice and fuse; any other conv (weight standardisation, DCN, ...) must
# be called as a module.
PLAIN_CONV_TYPES = (None, 'Conv', 'Conv2d')


def conv1x1_split(x: Tensor, h: Tensor, weight: Tensor,
                  x_part: Optional[Tensor] = None) -> Tensor:
    """A bias-free 1x1 conv over ``cat([x, h], 1)``, without the concat.

    Autograd would otherwise keep the concatenation, a full copy of ``x``,
    for the backward pass.

    Args:
        x (Tensor): (N, Cx, H, W).
        h (Tensor): (N, Ch, H, W).
        weight (Tensor): (Cout, Cx + Ch, 1, 1).
        x_part (Tensor, optional): ``weight[:, :Cx]`` applied to ``x``,
            (N, Cout, H, W), when the caller computed it already.

    Returns:
        Tensor: (N, Cout, H, W).
    """
    cx = x.shape[1]
    if x_part is None:
        x_part = F.conv2d(x, weight[:, :cx])
    return x_part + F.conv2d(h, weight[:, cx:])


def fused_conv1x1(x: Tensor, weights: Sequence[Tensor]) -> Tuple[Tensor, ...]:
    """Several bias-free 1x1 convs over the same input, run as one conv.

    On CPU, a 1x1 conv over a wide input costs mostly the reading of that
    input and the writing of its gradient; stacking the weights does both
    once.

    Args:
        x (Tensor): (N, C, H, W).
        weights (Sequence[Tensor]): (C_i, C, 1, 1) each.

    Returns:
        tuple[Tensor]: ``F.conv2d(x, weights[i])``, (N, C_i, H, W) each
        (views into one output).
    """
    sizes = [w.shape[0] for w in weights]
    return F.conv2d(x, torch.cat(list(weights))).split(sizes, 1)


class ECA(nn.Module):
    """Efficient channel attention: a 1D conv across pooled channels.

    Args:
        kernel_size (int): Odd size of the 1D kernel over the channel axis.
    """

    def __init__(self, kernel_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(
            1, 1, kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W), ``x`` scaled per channel."""
        weight = x.mean((2, 3), keepdim=True)  # (N, C, 1, 1)
        weight = self.conv(weight.flatten(2).transpose(1, 2))  # (N, 1, C)
        weight = weight.transpose(1, 2).unsqueeze(-1).sigmoid()
        return x * weight


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation channel gate (SE-RLA variant).

    The layout (``fc.0`` and ``fc.2``: bias-free linear layers) is the one of
    the authors' SE-RLA models, so their weights load unchanged.

    Args:
        channels (int): Channels of the gated tensor.
        ratio (int): Channel reduction of the bottleneck MLP.
    """

    def __init__(self, channels: int, ratio: int = 16) -> None:
        super().__init__()
        hidden = max(channels // ratio, 1)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden, bias=False), nn.ReLU(inplace=True),
            nn.Linear(hidden, channels, bias=False), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, H, W), ``x`` scaled per channel."""
        weight = self.fc(x.mean((2, 3)))  # (N, C)
        return x * weight[:, :, None, None]


class RLABottleneck(BaseModule):
    """ResNet bottleneck whose first conv also reads the hidden state ``h``.

    Args:
        inplanes (int): Channels of the residual input ``x``.
        planes (int): Base channels; the block outputs ``planes * 4``.
        rla_channels (int): Channels ``k`` of the hidden state ``h``.
        stride (int): Stride of the 3x3 conv (and of ``downsample``).
        dilation (int): Dilation of the 3x3 conv.
        downsample (nn.Module, optional): Projection of the identity path.
        groups (int): Groups of the 3x3 conv (ResNeXt).
        base_width (int): Channels per group at ``planes=64`` (ResNeXt).
        eca_kernel_size (int, optional): Adds ECA with this kernel size.
        with_se (bool): Adds a squeeze-and-excitation gate.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    expansion = 4

    def __init__(self,
                 inplanes: int,
                 planes: int,
                 rla_channels: int,
                 stride: int = 1,
                 dilation: int = 1,
                 downsample: Optional[nn.Module] = None,
                 groups: int = 1,
                 base_width: int = 64,
                 eca_kernel_size: Optional[int] = None,
                 with_se: bool = False,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        width = int(planes * (base_width / 64.)) * groups
        out_channels = planes * self.expansion
        self.inplanes = inplanes
        self.stride = stride
        self.conv1 = build_conv_layer(
            conv_cfg, inplanes + rla_channels, width, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, width)[1]
        self.conv2 = build_conv_layer(
            conv_cfg,
            width,
            width,
            3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            bias=False)
        self.bn2 = build_norm_layer(norm_cfg, width)[1]
        self.conv3 = build_conv_layer(
            conv_cfg, width, out_channels, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.se = SqueezeExcitation(out_channels) if with_se else None
        self.eca = ECA(eca_kernel_size) if eca_kernel_size else None
        self.downsample = downsample
        # h follows the spatial size of the residual stream.
        self.pool_hidden = stride != 1
        # Fast path (conv1x1_split); needs a plain conv1.
        self.split_conv1 = (conv_cfg or {}).get('type') in PLAIN_CONV_TYPES

    @property
    def conv1_x_weight(self) -> Tensor:
        """The part of conv1's weight that reads ``x``: (width, Cx, 1, 1)."""
        return self.conv1.weight[:, :self.inplanes]

    def zero_init_last(self) -> None:
        """Zero the last norm's weight so the block starts as identity."""
        nn.init.zeros_(self.bn3.weight)

    def forward(self,
                x: Tensor,
                h: Tensor,
                x_part: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Run the block.

        Args:
            x (Tensor): Residual stream, (N, inplanes, H, W).
            h (Tensor): Hidden state, (N, k, H, W).
            x_part (Tensor, optional): conv1 applied to ``x`` alone,
                (N, width, H, W), when the caller computed it already.

        Returns:
            tuple[Tensor, Tensor]: The block output, (N, planes * 4, H', W'),
            and ``h`` brought to the output's size, (N, k, H', W').
        """
        identity = x if self.downsample is None else self.downsample(x)
        if self.split_conv1:
            out = conv1x1_split(x, h, self.conv1.weight, x_part)
        else:
            out = self.conv1(torch.cat([x, h], dim=1))
        out = self.relu(self.bn1(out))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        if self.eca is not None:
            out = self.eca(out)
        if self.pool_hidden:
            # ceil_mode gives h the strided conv's output size for odd inputs
            # too (the reference's floor pooling fails there); for even
            # inputs the two are identical.
            h = F.avg_pool2d(h, 2, 2, ceil_mode=True)
        out += identity
        return self.relu(out), h


def check_eca_kernel_sizes(kernel_sizes: Optional[Sequence[int]],
                           num_units: int, unit: str,
                           paper_sizes: Sequence[int]
                           ) -> Tuple[Optional[int], ...]:
    """Validate ``eca_kernel_sizes``: one odd positive size per ``unit``.

    Args:
        kernel_sizes (Sequence[int], optional): The argument; None for no ECA.
        num_units (int): How many stages (or layers) the network has.
        unit (str): What gets one size, for the message: ``'stage'``.
        paper_sizes (Sequence[int]): The paper's sizes, for the message.

    Returns:
        tuple: One kernel size (or None) per unit.
    """
    if kernel_sizes is None:
        return (None, ) * num_units
    kernel_sizes = tuple(kernel_sizes)
    if len(kernel_sizes) != num_units or any(
            not isinstance(k, int) or k < 1 or k % 2 == 0
            for k in kernel_sizes):
        raise ValueError(
            f'eca_kernel_sizes needs one odd positive kernel size per {unit} '
            f'({num_units}; the 1D conv is padded symmetrically), got '
            f'{kernel_sizes}. The paper uses {tuple(paper_sizes)}.')
    return kernel_sizes


def default_init_cfg() -> List[dict]:
    """The initialization without a checkpoint, as mmdet's ResNet and
    MobileNetV2 make it: He (fan-out) convs, norms at weight 1."""
    return [
        dict(type='Kaiming', layer='Conv2d', mode='fan_out',
             nonlinearity='relu'),
        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
    ]


def initial_hidden(x: Tensor, channels: int) -> Tensor:
    """The hidden state ``h`` before the first block: zeros, (N, channels,
    H, W) for ``x`` of (N, C, H, W), in ``x``'s memory format."""
    h = x.new_zeros((x.shape[0], channels, *x.shape[2:]))
    if x.is_contiguous(memory_format=torch.channels_last):
        h = h.contiguous(memory_format=torch.channels_last)
    return h


def _check_strides_dilations(strides: Sequence[int],
                             dilations: Sequence[int],
                             num_stages: int) -> None:
    """Validate per-stage ``strides`` and ``dilations``."""
    for name, values in (('strides', strides), ('dilations', dilations)):
        if len(values) != num_stages:
            raise ValueError(f'{name} needs one entry per stage '
                             f'({num_stages}), got {tuple(values)}.')
    if any(s not in (1, 2) for s in strides):
        raise ValueError(
            f'strides must be 1 or 2 for every stage: where a stage '
            f'downsamples, RLA pools the hidden state 2x2 (as the released '
            f'weights were trained), so other strides cannot be honoured; '
            f'got {tuple(strides)}. Use dilations for a smaller output '
            f'stride, e.g. strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4).')
    if any(not isinstance(d, int) or d < 1 for d in dilations):
        raise ValueError(f'dilations must be positive integers, got '
                         f'{tuple(dilations)}.')


class RLAResNet(BaseModule):
    """ResNet backbone with Recurrent Layer Aggregation (RLA-Net).

    The stem is ResNet's (7x7/2 conv, norm, ReLU, 3x3/2 max-pool). Each stage
    ``s`` owns a shared 1x1 conv ``conv_outs[s]`` (planes * 4 -> k), a shared
    3x3 conv ``recurrent_convs[s]`` (k -> k) and one norm per block
    ``stage_bns[s][j]``. ``h`` starts as zeros at the stem's output size;
    after block ``j`` of stage ``s`` with output ``y``::

        h = recurrent_convs[s](tanh(stage_bns[s][j](h + conv_outs[s](y))))

    Args:
        depth (int): 50, 101 or 152.
        in_channels (int): Input image channels.
        stem_channels (int, optional): Output channels of the stem; None
            for ``base_channels``, as in MMDetection's ResNet (set it to
            match MMSegmentation's, whose default is 64).
        base_channels (int): Width of stage 1's blocks; stage ``s`` is
            ``base_channels * 2**s`` wide (its output has 4x that), as in
            MMDetection's ResNet. 64 is ResNet-50; 32 is the half-width
            twin of a CPU demo.
        num_stages (int): Must be 4; accepted so that the backbone dicts of
            mmdet's and mmseg's ResNet configs merge into RLAResNet's.
        style (str): Must be ``'pytorch'`` (stride in the 3x3 conv), for the
            same reason.
        rla_channels (int): Channels ``k`` of the hidden state.
        eca_kernel_sizes (Sequence[int], optional): One odd ECA kernel size
            per stage to build ECA-RLA-Net (the paper uses (5, 5, 5, 7)).
        with_se (bool): Adds squeeze-and-excitation to every block.
        groups (int): Groups of the 3x3 convs (RLA-ResNeXt).
        base_width (int): Channels per group at 64 planes (RLA-ResNeXt).
        strides (Sequence[int]): Stride (1 or 2) of each stage's first block.
        dilations (Sequence[int]): Dilation of each stage's 3x3 convs;
            ``strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)`` gives the
            output stride 8 of dilated segmentation backbones.
        contract_dilation (bool): As in MMSegmentation: the first block of a
            stage with dilation ``d > 1`` uses ``d // 2``.
        out_indices (Sequence[int]): Stages whose outputs are returned.
        frozen_stages (int): Freeze the stem and the first ``frozen_stages``
            stages, RLA parts included; -1 freezes nothing.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers (BN, SyncBN, GN, ...).
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
            Off by default, as in MMSegmentation's and MMPretrain's ResNet,
            so that a swap into a classification config trains its norms;
            MMDetection's configs set it explicitly.
        with_cp (bool): Gradient-checkpoint each block (saves memory).
        zero_init_residual (bool): Zero the last norm of every block.
        return_hidden (bool): Also return the final hidden state ``h``
            (then the last update is computed instead of skipped).
        pretrained (str, optional): Checkpoint to load, as MMSegmentation's
            segmentors pass it; a Pretrained ``init_cfg`` takes precedence.
        init_cfg (dict or list[dict], optional): Initialization config; a
            ``dict(type='Pretrained', checkpoint=...)``, alone or in a list,
            is loaded strictly.

    Example:
        >>> import torch
        >>> from rla_mm.models import RLAResNet
        >>> model = RLAResNet(depth=50).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        [(1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 4, 4), (1, 2048, 2, 2)]
    """

    arch_settings = {
        50: (3, 4, 6, 3),
        101: (3, 4, 23, 3),
        152: (3, 8, 36, 3),
    }
    num_stages = 4

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 stem_channels: Optional[int] = None,
                 base_channels: int = 64,
                 num_stages: int = 4,
                 style: str = 'pytorch',
                 rla_channels: int = 32,
                 eca_kernel_sizes: Optional[Sequence[int]] = None,
                 with_se: bool = False,
                 groups: int = 1,
                 base_width: int = 64,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 contract_dilation: bool = False,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 return_hidden: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if depth not in self.arch_settings:
            raise ValueError(f'invalid depth {depth} for RLAResNet; valid '
                             f'depths are {sorted(self.arch_settings)}.')
        if num_stages != self.num_stages:
            raise ValueError(
                f'RLAResNet has {self.num_stages} stages, got '
                f'num_stages={num_stages}; choose the outputs with '
                f'out_indices instead.')
        if style != 'pytorch':
            raise ValueError(
                f"RLAResNet puts the stride in the 3x3 conv (style="
                f"'pytorch', as the released weights do), got style="
                f"{style!r}.")
        if stem_channels is None:
            stem_channels = base_channels
        for name, value in (('base_channels', base_channels),
                            ('stem_channels', stem_channels)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f'{name} must be a positive integer, got '
                                 f'{value!r} (ResNet-50 uses 64).')
        if not isinstance(rla_channels, int) or rla_channels < 1:
            raise ValueError(f'rla_channels must be a positive integer, got '
                             f'{rla_channels!r} (the paper uses 32).')
        eca_sizes = check_eca_kernel_sizes(eca_kernel_sizes, num_stages,
                                           'stage', PAPER_ECA_KERNEL_SIZES)
        out_indices = tuple(out_indices)
        if not out_indices or any(
                not 0 <= i < num_stages for i in out_indices):
            raise ValueError(f'out_indices must be a non-empty subset of '
                             f'{tuple(range(num_stages))}, got {out_indices}.')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be in [-1, {num_stages}], '
                             f'got {frozen_stages}.')
        _check_strides_dilations(strides, dilations, num_stages)
        init_cfg = resolve_init_cfg(init_cfg, pretrained, 'RLAResNet')
        super().__init__(default_init_cfg() if init_cfg is None else init_cfg)
        self.depth = depth
        self.rla_channels = rla_channels
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.return_hidden = return_hidden
        self.plain_convs = (conv_cfg or {}).get('type') in PLAIN_CONV_TYPES

        self.conv1 = build_conv_layer(
            conv_cfg, in_channels, stem_channels, 7, stride=2, padding=3,
            bias=False)
        self.bn1 = build_norm_layer(norm_cfg, stem_channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.stages = nn.ModuleList()
        self.stage_bns = nn.ModuleList()
        self.conv_outs = nn.ModuleList()
        self.recurrent_convs = nn.ModuleList()
        self.out_channels: List[int] = []
        inplanes = stem_channels
        for s, num_blocks in enumerate(self.arch_settings[depth]):
            dilation = dilations[s]
            first_dilation = dilation // 2 if (
                contract_dilation and dilation > 1) else dilation
            planes = base_channels * 2**s
            stage = self._make_stage(
                inplanes, planes, num_blocks, strides[s],
                (first_dilation, dilation),
                dict(rla_channels=rla_channels, groups=groups,
                     base_width=base_width, eca_kernel_size=eca_sizes[s],
                     with_se=with_se, conv_cfg=conv_cfg, norm_cfg=norm_cfg))
            inplanes = planes * RLABottleneck.expansion
            self.stages.append(stage)
            self.stage_bns.append(
                nn.ModuleList(
                    build_norm_layer(norm_cfg, rla_channels)[1]
                    for _ in range(num_blocks)))
            self.conv_outs.append(
                build_conv_layer(
                    conv_cfg, inplanes, rla_channels, 1, bias=False))
            self.recurrent_convs.append(
                build_conv_layer(
                    conv_cfg, rla_channels, rla_channels, 3, padding=1,
                    bias=False))
            self.out_channels.append(inplanes)

        # Stages after the last returned one never influence an output.
        self.num_run_stages = max(out_indices) + 1
        self.set_fast_paths()
        self._freeze_dead_parameters()
        self._freeze_stages()

    @staticmethod
    def _make_stage(inplanes: int, planes: int, num_blocks: int, stride: int,
                    dilations: Tuple[int, int],
                    block_kwargs: dict) -> nn.ModuleList:
        """One stage; its first block carries the stride and projection.

        ``dilations`` is (first block's, other blocks').
        """
        out_channels = planes * RLABottleneck.expansion
        downsample = None
        if stride != 1 or inplanes != out_channels:
            downsample = nn.Sequential(
                build_conv_layer(
                    block_kwargs['conv_cfg'], inplanes, out_channels, 1,
                    stride=stride, bias=False),
                build_norm_layer(block_kwargs['norm_cfg'], out_channels)[1])
        blocks = [
            RLABottleneck(inplanes, planes, stride=stride,
                          dilation=dilations[0], downsample=downsample,
                          **block_kwargs)
        ]
        blocks += [
            RLABottleneck(out_channels, planes, dilation=dilations[1],
                          **block_kwargs) for _ in range(1, num_blocks)
        ]
        return nn.ModuleList(blocks)

    def set_fast_paths(self,
                       split_conv1: bool = True,
                       fuse_projection: bool = True) -> None:
        """Switch the fast paths (all on by default; off for ablations).

        Neither changes the function computed. Both need plain convs: with
        any other ``conv_cfg`` they stay off.

        Args:
            split_conv1 (bool): conv1 by weight slices (``conv1x1_split``).
            fuse_projection (bool): ``conv_outs[s]`` and the next block's
                conv1 as one conv (``fused_conv1x1``); needs ``split_conv1``.
        """
        for stage in self.stages:
            for block in stage:
                block.split_conv1 = split_conv1 and self.plain_convs
        self.fuse_projection = (fuse_projection and split_conv1
                                and self.plain_convs)

    def _stage_modules(self, stage: int) -> List[nn.Module]:
        """All modules owned by ``stage``: its blocks and its RLA parts."""
        return [self.stages[stage], self.stage_bns[stage],
                self.conv_outs[stage], self.recurrent_convs[stage]]

    def _freeze_dead_parameters(self) -> None:
        """Stop grads of parameters that cannot reach any output.

        Under DDP with ``find_unused_parameters=False`` every parameter that
        requires grad must receive one. Stages after the last returned one
        are never run, and the update after the last run block is skipped
        unless ``return_hidden`` asks for the final ``h``.
        """
        dead: List[nn.Module] = []
        for s in range(self.num_run_stages, len(self.stages)):
            dead += self._stage_modules(s)
        if not self.return_hidden:
            last = self.num_run_stages - 1
            dead.append(self.stage_bns[last][-1])
            if len(self.stages[last]) == 1:
                dead += [self.conv_outs[last], self.recurrent_convs[last]]
        for module in dead:
            module.requires_grad_(False)

    def _freeze_stages(self) -> None:
        """Freeze the stem and the first ``frozen_stages`` stages."""
        if self.frozen_stages < 0:
            return
        frozen = [self.conv1, self.bn1]
        for s in range(self.frozen_stages):
            frozen += self._stage_modules(s)
        for module in frozen:
            module.eval()
            module.requires_grad_(False)

    def init_weights(self) -> None:
        """Initialize from ``init_cfg``; a Pretrained checkpoint is strict.

        mmengine's ``Pretrained`` initializer only warns about missing or
        mismatched keys, which would silently train from random weights when
        a wrong file is given; here any mismatch raises an error instead.
        The other entries of an ``init_cfg`` list are not run: mmengine
        applies Pretrained last, and the strict load sets every parameter
        and buffer they could set.
        """
        cfg = pretrained_entry(self.init_cfg, repr_arch(self))
        if cfg is not None:
            state_dict = load_backbone_state_dict(
                cfg['checkpoint'], self.state_dict(),
                prefix=cfg.get('prefix'), model_name=repr_arch(self))
            self.load_state_dict(state_dict, strict=True)
            self._is_init = True
            return
        super().init_weights()
        if self.zero_init_residual:
            for stage in self.stages:
                for block in stage:
                    block.zero_init_last()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Compute the stage outputs.

        Args:
            x (Tensor): Images, (N, in_channels, H, W).

        Returns:
            tuple[Tensor]: For each stage in ``out_indices``, its output,
            (N, 256 * 2**s, H_s, W_s); then the final hidden state,
            (N, k, H_last, W_last), when ``return_hidden`` is set.
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        h = initial_hidden(x, self.rla_channels)
        blocks = [(s, j) for s in range(self.num_run_stages)
                  for j in range(len(self.stages[s]))]
        step = self._step
        if self.with_cp and self.training and torch.is_grad_enabled():
            step = self._checkpointed_step
        x_part = None  # the next block's conv1 on x, when fused
        outs = []
        for i, (s, j) in enumerate(blocks):
            next_block = None
            if i + 1 < len(blocks):
                next_block = self.stages[blocks[i + 1][0]][blocks[i + 1][1]]
            x, h, x_part = step(s, j, x, h, x_part, next_block)
            if j == len(self.stages[s]) - 1 and s in self.out_indices:
                outs.append(x)
        if self.return_hidden:
            outs.append(h)
        return tuple(outs)

    def _step(self, stage: int, index: int, x: Tensor, h: Tensor,
              x_part: Optional[Tensor], next_block: Optional[RLABottleneck]
              ) -> Tuple[Tensor, Tensor, Optional[Tensor]]:
        """Block ``index`` of ``stage``, then the RLA update from its output.

        Returns the block output ``y``, the new ``h`` and, when the update
        computed it, the next block's conv1 applied to ``y``.
        """
        y, h = self.stages[stage][index](x, h, x_part)
        if next_block is None and not self.return_hidden:
            return y, h, None  # the last update reaches no output
        h, x_part = self._rla_update(stage, index, y, h, next_block)
        return y, h, x_part

    def _checkpointed_step(self, *args) -> Tuple[Tensor, Tensor,
                                                 Optional[Tensor]]:
        """``_step`` under gradient checkpointing (``with_cp``)."""
        return cp.checkpoint(self._step, *args, use_reentrant=False)

    def _rla_update(self, stage: int, index: int, y: Tensor, h: Tensor,
                    next_block: Optional[RLABottleneck]
                    ) -> Tuple[Tensor, Optional[Tensor]]:
        """The update after block ``index`` of ``stage``, output ``y``::

            h = recurrent_convs[s](tanh(stage_bns[s][j](h + conv_outs[s](y))))

        ``y`` is the block's output after the residual add and ReLU. The
        paper's text reads as if the residual branch were aggregated; the
        authors' code assigns ``y = out`` before the add, but its in-place
        add and ReLU then overwrite that very tensor, so the released weights
        were trained with the block output.

        Args:
            stage (int): Stage of the block that produced ``y``.
            index (int): Index of that block in its stage.
            y (Tensor): The block output, (N, C, H, W).
            h (Tensor): Hidden state at the same size, (N, k, H, W).
            next_block (RLABottleneck, optional): The block that reads ``y``
                next, if any.

        Returns:
            tuple: The new ``h``, (N, k, H, W), and ``next_block``'s conv1
            applied to ``y`` alone, (N, width, H, W), when fused, else None.
        """
        conv_out = self.conv_outs[stage]
        norm = self.stage_bns[stage][index]
        if self.fuse_projection and next_block is not None:
            x_part, h_in = fused_conv1x1(
                y, (next_block.conv1_x_weight, conv_out.weight))
        else:
            x_part, h_in = None, conv_out(y)
        h = self.recurrent_convs[stage](torch.tanh(norm(h + h_in)))
        return h, x_part

    def train(self, mode: bool = True) -> 'RLAResNet':
        """Set train mode, keeping frozen stages and (optionally) BN frozen."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


def repr_arch(model: RLAResNet) -> str:
    """A short name of the architecture for messages, e.g. 'RLAResNet-50'."""
    eca = 'ECA-' if model.stages[0][0].eca is not None else ''
    return f'{eca}RLAResNet-{model.depth}'
