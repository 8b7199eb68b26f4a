"""RLA-MobileNetV2: MobileNetV2 with Recurrent Layer Aggregation.

The light model of "Recurrence along Depth: Deep Convolutional Neural
Networks with Recurrent Layer Aggregation" (Zhao et al., NeurIPS 2021; the
authors call it dsRLA-MobileNetV2, "ds" for the depthwise recurrent conv),
written as a drop-in for MMDetection's ``MobileNetV2``. A hidden state ``h``
(``rla_channels`` channels) runs alongside the features: each inverted
residual block expands ``x``, concatenates ``h`` and runs its depthwise and
projection convs over both; after every block, with ``y`` its residual
branch (before the identity is added)::

    h = recurrent_conv(tanh(stage_bns[s][j](h + conv_outs[s](y))))

The last conv (mmdet's output index 7) reads ``cat([x, act(bn2(h))])``.

Parameter names follow the authors' released checkpoints exactly
(``dsrla_mobilenetv2_k32*``), so their ImageNet weights load without
conversion; their classifier (dropout, ``classifier.1``) is MMPretrain's
``GlobalAveragePooling`` neck and ``LinearClsHead``.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from rla_mm.utils.typing_utils import (ConfigType, OptConfigType,
                                         OptMultiConfig)
from mmengine.model import BaseModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from torch import Tensor

from rla_mm.utils.checkpoint import (CheckpointMismatchError,
                                     load_backbone_state_dict,
                                     pretrained_entry, resolve_init_cfg)
from .rla_resnet import (ECA, check_eca_kernel_sizes, default_init_cfg,
                         initial_hidden)

# The released files' classifier: classifier.0 is a dropout, classifier.1
# the fc layer (LinearClsHead's head.fc). bn2, the norm on the final h,
# feeds the last conv and belongs to the backbone here.
CLASSIFIER_PREFIXES: Tuple[str, ...] = ('classifier.', )
# ECA kernel sizes of the released ECA model: 1 for the layers of fewer than
# 96 (unscaled) channels, 3 for the others.
PAPER_ECA_KERNEL_SIZES: Tuple[int, ...] = (1, 1, 1, 1, 3, 3, 3)


def conv_norm_act(in_channels: int,
                  out_channels: int,
                  kernel_size: int,
                  stride: int = 1,
                  groups: int = 1,
                  conv_cfg: OptConfigType = None,
                  norm_cfg: ConfigType = dict(type='BN'),
                  act_cfg: ConfigType = dict(type='ReLU6')
                  ) -> nn.Sequential:
    """Bias-free conv, norm, activation: (N, Cin, H, W) -> (N, Cout, H', W').

    A Sequential, so the parameters are ``0.weight`` (conv) and ``1.*``
    (norm) as in the released checkpoints.
    """
    return nn.Sequential(
        build_conv_layer(
            conv_cfg, in_channels, out_channels, kernel_size, stride=stride,
            padding=(kernel_size - 1) // 2, groups=groups, bias=False),
        build_norm_layer(norm_cfg, out_channels)[1],
        build_activation_layer(act_cfg))


class RLAInvertedResidual(BaseModule):
    """Inverted residual block whose depthwise conv also reads ``h``.

    ``conv1x1`` expands ``x`` (absent when ``expand_ratio`` is 1); ``conv``
    is the depthwise conv with norm and activation (``conv.0``), the
    projection conv (``conv.1``) and its norm (``conv.2``) over
    ``cat([expanded x, h])``, and ECA (``conv.3``) when asked for.

    Args:
        in_channels (int): Channels of the input ``x``.
        out_channels (int): Channels of the output.
        stride (int): Stride (1 or 2) of the depthwise conv.
        expand_ratio (int): Expansion of ``in_channels`` by ``conv1x1``.
        rla_channels (int): Channels ``k`` of the hidden state ``h``.
        eca_kernel_size (int, optional): Adds ECA with this kernel size.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers.
        act_cfg (dict): Config of the activations.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int,
                 expand_ratio: int,
                 rla_channels: int,
                 eca_kernel_size: Optional[int] = None,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU6'),
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg)
        self.stride = stride
        self.use_res_connect = stride == 1 and in_channels == out_channels
        mid_channels = int(round(in_channels * expand_ratio))
        self.conv1x1 = None
        if expand_ratio != 1:
            self.conv1x1 = conv_norm_act(
                in_channels, mid_channels, 1, conv_cfg=conv_cfg,
                norm_cfg=norm_cfg, act_cfg=act_cfg)
        mixed = mid_channels + rla_channels
        layers = [
            conv_norm_act(mixed, mixed, 3, stride=stride, groups=mixed,
                          conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                          act_cfg=act_cfg),
            build_conv_layer(conv_cfg, mixed, out_channels, 1, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1],
        ]
        if eca_kernel_size is not None:
            layers.append(ECA(eca_kernel_size))
        self.conv = nn.Sequential(*layers)

    def forward(self, x: Tensor, h: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """Run the block.

        Args:
            x (Tensor): Input, (N, in_channels, H, W).
            h (Tensor): Hidden state, (N, k, H, W).

        Returns:
            tuple[Tensor, Tensor, Tensor]: The block output and its residual
            branch ``y`` (the same tensor without a residual connection),
            (N, out_channels, H', W') each, and ``h`` brought to that size,
            (N, k, H', W').
        """
        expanded = x if self.conv1x1 is None else self.conv1x1(x)
        y = self.conv(torch.cat([expanded, h], dim=1))
        out = x + y if self.use_res_connect else y
        if self.stride != 1:
            # ceil_mode gives h the strided conv's output size for odd inputs
            # too (the reference's floor pooling fails there); for even
            # inputs the two are identical.
            h = F.avg_pool2d(h, 2, 2, ceil_mode=True)
        return out, y, h


def round_channels(channels: float, divisor: int = 8) -> int:
    """MobileNetV2's rounding of a scaled width.

    ``channels`` goes to the nearest multiple of ``divisor`` (at least
    ``divisor``), and up by one more ``divisor`` where that lost over 10%.
    mmdet, mmseg and mmpretrain each carry this rule as ``make_divisible``;
    ours keeps the plugin free of any one of them (tested equal to mmdet's).
    """
    rounded = max(divisor, int(channels / divisor + 0.5) * divisor)
    return rounded + divisor if rounded < 0.9 * channels else rounded


def _checkpoint_hint(keys: Sequence[str]) -> str:
    """What to check when a file does not fit ``RLAMobileNetV2``."""
    if any(k.startswith(('layer1.', 'features.')) for k in keys):
        return ('  This looks like a plain MobileNetV2 checkpoint (layer1.* '
                'or features.* keys). RLAMobileNetV2 needs RLA weights such '
                'as dsrla_mobilenetv2_k32; for plain MobileNetV2 weights use '
                "type='MobileNetV2'.")
    return ('  Check widen_factor, rla_channels and eca_kernel_sizes against '
            "the checkpoint, or set prefix= in init_cfg (e.g. prefix="
            "'backbone.' for an MMPretrain or detector checkpoint).")


class RLAMobileNetV2(BaseModule):
    """MobileNetV2 backbone with Recurrent Layer Aggregation (RLA-Net).

    MMDetection's MobileNetV2 layout: a 3x3/2 stem conv (``conv1``), seven
    layers of inverted residual blocks (``stages``, mmdet's ``layer1`` to
    ``layer7``) and a 1x1 conv to 1280 channels (``conv2``), output indices
    0 to 6 and 7. Each layer ``s`` owns a 1x1 conv ``conv_outs[s]``
    (its channels -> k) and one norm per block ``stage_bns[s][j]``; one
    depthwise 3x3 conv (k -> k) is shared by all layers. ``h`` starts as
    zeros at the stem's output size; after block ``j`` of layer ``s``,
    with residual branch ``y``::

        h = recurrent_conv(tanh(stage_bns[s][j](h + conv_outs[s](y))))

    ``conv2`` reads ``cat([x, act(bn2(h))])``, ``x`` the last layer's output.

    Args:
        widen_factor (float): Width multiplier of every layer, as in
            MMDetection's MobileNetV2 (``conv2`` widens only above 1).
        rla_channels (int): Channels ``k`` of the hidden state.
        eca_kernel_sizes (Sequence[int], optional): One odd ECA kernel size
            per layer (7) to add ECA to every block; the released ECA model
            uses ``PAPER_ECA_KERNEL_SIZES``, (1, 1, 1, 1, 3, 3, 3).
        out_indices (Sequence[int]): Outputs to return: layers 0-6 and
            ``conv2`` as 7, as in MMDetection's MobileNetV2.
        frozen_stages (int): As MMDetection's: from 0 the stem's parameters
            stop learning (its norm keeps training mode, as there); layers
            1 to ``frozen_stages`` are frozen with their RLA parts (eval
            mode, no grad). The shared recurrent conv freezes with layer 1.
            -1 freezes nothing.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers.
        act_cfg (dict): Config of the activations, the one on ``bn2(h)``
            included.
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        with_cp (bool): Gradient-checkpoint each block with its update.
        return_hidden (bool): Also return the final hidden state ``h``, as
            ``bn2`` reads it.
        pretrained (str, optional): Checkpoint to load, as a model-level
            ``pretrained`` passes it; a Pretrained ``init_cfg`` wins.
        init_cfg (dict or list[dict], optional): Initialization config; a
            ``dict(type='Pretrained', checkpoint=...)``, alone or in a list,
            is loaded strictly (the released file's ``classifier.*`` is
            ignored).

    Example:
        >>> import torch
        >>> from rla_mm.models.backbones import RLAMobileNetV2
        >>> model = RLAMobileNetV2(out_indices=(1, 2, 4, 7)).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        [(1, 24, 16, 16), (1, 32, 8, 8), (1, 96, 4, 4), (1, 1280, 2, 2)]
    """

    # expand ratio, channels, blocks, stride of each layer (mmdet's table).
    arch_settings = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2),
                     (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                     (6, 320, 1, 1))
    num_layers = len(arch_settings)

    def __init__(self,
                 widen_factor: float = 1.,
                 rla_channels: int = 32,
                 eca_kernel_sizes: Optional[Sequence[int]] = None,
                 out_indices: Sequence[int] = (1, 2, 4, 7),
                 frozen_stages: int = -1,
                 conv_cfg: OptConfigType = None,
                 norm_cfg: ConfigType = dict(type='BN'),
                 act_cfg: ConfigType = dict(type='ReLU6'),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 return_hidden: bool = False,
                 pretrained: Optional[str] = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if isinstance(widen_factor, bool) or not isinstance(
                widen_factor, (int, float)) or widen_factor <= 0:
            raise ValueError(f'widen_factor must be a positive number, got '
                             f'{widen_factor!r} (1.0 is MobileNetV2).')
        if isinstance(rla_channels, bool) or not isinstance(
                rla_channels, int) or rla_channels < 1:
            raise ValueError(f'rla_channels must be a positive integer, got '
                             f'{rla_channels!r} (the paper uses 32).')
        eca_sizes = check_eca_kernel_sizes(eca_kernel_sizes, self.num_layers,
                                           'layer', PAPER_ECA_KERNEL_SIZES)
        out_indices = tuple(out_indices)
        if not out_indices or any(
                i not in range(self.num_layers + 1) for i in out_indices):
            raise ValueError(
                f'out_indices must be a non-empty subset of '
                f'{tuple(range(self.num_layers + 1))} (layers 0-6, conv2 as '
                f'7), got {out_indices}.')
        if frozen_stages not in range(-1, self.num_layers + 1):
            raise ValueError(f'frozen_stages must be in [-1, '
                             f'{self.num_layers}], got {frozen_stages!r}.')
        arch_name = ('ECA-' if eca_kernel_sizes else '') + 'RLAMobileNetV2'
        init_cfg = resolve_init_cfg(init_cfg, pretrained, arch_name)
        super().__init__(default_init_cfg() if init_cfg is None else init_cfg)
        self.arch_name = arch_name  # for messages
        self.widen_factor = widen_factor
        self.rla_channels = rla_channels
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.return_hidden = return_hidden
        layer_cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                         act_cfg=act_cfg)

        in_channels = round_channels(32 * widen_factor, 8)
        self.conv1 = conv_norm_act(3, in_channels, 3, stride=2, **layer_cfg)
        self.stages = nn.ModuleList()
        self.stage_bns = nn.ModuleList()
        self.conv_outs = nn.ModuleList()
        self.out_channels: List[int] = []
        for s, (expand_ratio, channels, num_blocks,
                stride) in enumerate(self.arch_settings):
            out_channels = round_channels(channels * widen_factor, 8)
            blocks = []
            for j in range(num_blocks):
                blocks.append(
                    RLAInvertedResidual(
                        in_channels, out_channels, stride if j == 0 else 1,
                        expand_ratio, rla_channels, eca_sizes[s],
                        **layer_cfg))
                in_channels = out_channels
            self.stages.append(nn.ModuleList(blocks))
            self.stage_bns.append(
                nn.ModuleList(
                    build_norm_layer(norm_cfg, rla_channels)[1]
                    for _ in range(num_blocks)))
            self.conv_outs.append(
                build_conv_layer(
                    conv_cfg, out_channels, rla_channels, 1, bias=False))
            self.out_channels.append(out_channels)

        # The released weights share ONE depthwise conv among all layers:
        # the authors' list holds the same module once per new cell (the
        # first layer and each later one that downsamples), so their state
        # dict, and this one, names it recurrent_dsconvs.0 to .4.
        recurrent_conv = build_conv_layer(
            conv_cfg, rla_channels, rla_channels, 3, padding=1,
            groups=rla_channels, bias=False)
        num_cells = 1 + sum(
            setting[3] == 2 for setting in self.arch_settings[1:])
        self.recurrent_dsconvs = nn.ModuleList([recurrent_conv] * num_cells)

        self.bn2 = build_norm_layer(norm_cfg, rla_channels)[1]
        self.hidden_act = build_activation_layer(act_cfg)
        last_channels = int(1280 * widen_factor) if widen_factor > 1 else 1280
        self.conv2 = conv_norm_act(in_channels + rla_channels, last_channels,
                                   1, **layer_cfg)
        self.out_channels.append(last_channels)

        self.with_conv2 = self.num_layers in out_indices
        # Layers after the last returned output never influence one.
        self.num_run_layers = self.num_layers if self.with_conv2 else max(
            out_indices) + 1
        # conv2 reads the final h; return_hidden returns it.
        self.final_update = self.with_conv2 or return_hidden
        self._freeze_dead_parameters()
        self._freeze_stages()

    @property
    def recurrent_conv(self) -> nn.Module:
        """The depthwise 3x3 conv on ``h`` that every layer shares."""
        return self.recurrent_dsconvs[0]

    def _freeze_dead_parameters(self) -> None:
        """Stop grads of parameters that cannot reach any output.

        Under DDP with ``find_unused_parameters=False`` every parameter that
        requires grad must receive one. Layers after the last returned one
        are never run, ``bn2`` and ``conv2`` only for index 7, and the
        update after the last run block only when ``final_update``.
        """
        dead: List[nn.Module] = []
        for s in range(self.num_run_layers, self.num_layers):
            dead += [self.stages[s], self.stage_bns[s], self.conv_outs[s]]
        if not self.with_conv2:
            dead += [self.bn2, self.conv2]
        if not self.final_update:
            last = self.num_run_layers - 1
            dead.append(self.stage_bns[last][-1])
            if len(self.stages[last]) == 1:
                dead.append(self.conv_outs[last])
            if sum(len(self.stages[s]) for s in range(last + 1)) == 1:
                dead.append(self.recurrent_conv)  # no update runs at all
        for module in dead:
            module.requires_grad_(False)

    def _freeze_stages(self) -> None:
        """Freeze as MMDetection's MobileNetV2 does, RLA parts included."""
        if self.frozen_stages >= 0:
            # mmdet and mmpretrain leave the stem's norm in training mode.
            self.conv1.requires_grad_(False)
        frozen: List[nn.Module] = []
        for s in range(self.frozen_stages):
            frozen += [self.stages[s], self.stage_bns[s], self.conv_outs[s]]
        if self.frozen_stages >= 1:
            frozen.append(self.recurrent_conv)
        for module in frozen:
            module.eval()
            module.requires_grad_(False)

    def init_weights(self) -> None:
        """Initialize from ``init_cfg``; a Pretrained checkpoint is strict.

        Any missing, unexpected or misshapen key raises, where mmengine's
        ``Pretrained`` initializer would only warn; so do unequal copies of
        the shared recurrent conv, which this model cannot hold apart. The
        other entries of an ``init_cfg`` list are not run: the strict load
        sets every parameter and buffer they could set.
        """
        cfg = pretrained_entry(self.init_cfg, self.arch_name)
        if cfg is None:
            super().init_weights()
            return
        filename = cfg['checkpoint']
        state_dict = load_backbone_state_dict(
            filename, self.state_dict(), prefix=cfg.get('prefix'),
            model_name=self.arch_name,
            classifier_prefixes=CLASSIFIER_PREFIXES, hint=_checkpoint_hint)
        copies = [
            state_dict[f'recurrent_dsconvs.{i}.weight']
            for i in range(len(self.recurrent_dsconvs))
        ]
        if any(not torch.equal(copies[0], c) for c in copies[1:]):
            raise CheckpointMismatchError(
                f'{filename} does not fit {self.arch_name}: its '
                f'recurrent_dsconvs.* differ, but the released models '
                f'(and this one) share one recurrent conv among all layers.')
        self.load_state_dict(state_dict, strict=True)
        self._is_init = True

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Compute the outputs.

        Args:
            x (Tensor): Images, (N, 3, H, W).

        Returns:
            tuple[Tensor]: For each index in ``out_indices``, in increasing
            order, layer ``i``'s output (N, out_channels[i], H_i, W_i) or
            for 7 ``conv2``'s, (N, 1280, H / 32, W / 32); then the final
            hidden state, (N, k, H_last, W_last), when ``return_hidden``.
        """
        x = self.conv1(x)
        h = initial_hidden(x, self.rla_channels)
        blocks = [(s, j) for s in range(self.num_run_layers)
                  for j in range(len(self.stages[s]))]
        step = self._step
        if self.with_cp and self.training and torch.is_grad_enabled():
            step = self._checkpointed_step
        outs = []
        for i, (s, j) in enumerate(blocks):
            update = i + 1 < len(blocks) or self.final_update
            x, h = step(s, j, x, h, update)
            if j == len(self.stages[s]) - 1 and s in self.out_indices:
                outs.append(x)
        if self.with_conv2:
            hidden = self.hidden_act(self.bn2(h))
            outs.append(self.conv2(torch.cat([x, hidden], dim=1)))
        if self.return_hidden:
            outs.append(h)
        return tuple(outs)

    def _step(self, stage: int, index: int, x: Tensor, h: Tensor,
              update: bool) -> Tuple[Tensor, Tensor]:
        """Block ``index`` of ``stage`` and, if ``update``, the RLA update::

            h = recurrent_conv(tanh(stage_bns[s][j](h + conv_outs[s](y))))

        ``y`` is the block's residual branch, before the identity is added
        (the authors' code returns it beside the output).
        """
        x, y, h = self.stages[stage][index](x, h)
        if update:
            h = h + self.conv_outs[stage](y)
            h = torch.tanh(self.stage_bns[stage][index](h))
            h = self.recurrent_conv(h)
        return x, h

    def _checkpointed_step(self, *args) -> Tuple[Tensor, Tensor]:
        """``_step`` under gradient checkpointing (``with_cp``)."""
        return cp.checkpoint(self._step, *args, use_reentrant=False)

    def train(self, mode: bool = True) -> 'RLAMobileNetV2':
        """Set train mode, keeping frozen layers and (optionally) BN frozen."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
