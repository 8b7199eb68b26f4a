"""RLA-ResNet: ResNet with Recurrent Layer Aggregation.

Architecture of "Recurrence along Depth: Deep Convolutional Neural Networks
with Recurrent Layer Aggregation" (Zhao et al., NeurIPS 2021), written for
MMDetection 3.x. A small hidden state ``h`` (``rla_channels`` channels) runs
alongside the residual stream: every block sees ``cat([x, h])`` and, after
every block, ``h`` absorbs the block's output through a shared 1x1 conv, a
per-block norm, ``tanh`` and a shared 3x3 conv.

Parameter names follow the authors' released checkpoints exactly, so their
ImageNet weights load without conversion.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from torch import Tensor

from mmdet.registry import MODELS
from rla_mm.utils.checkpoint import load_backbone_state_dict


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
    """Bottleneck block whose first conv also reads the RLA hidden state.

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
        with_cp (bool): Not used by the block itself; see ``RLAResNet``.
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
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg=None) -> None:
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
        # The hidden state follows the spatial size of the residual stream.
        self.pool_hidden = downsample is not None and stride != 1
        # conv1 is applied to x and h with the two slices of its weight: this
        # avoids materialising cat([x, h]) (a full copy of x kept for
        # backward) and lets the x part be fused into the previous block's
        # RLA update (see RLAResNet._project). It needs a plain convolution;
        # any custom conv_cfg takes the concatenation path.
        self.split_conv1 = type(self.conv1) is nn.Conv2d

    def zero_init_last(self) -> None:
        """Zero the last norm's weight so the block starts as identity."""
        nn.init.zeros_(self.bn3.weight)

    @property
    def conv1_x_weight(self) -> Tensor:
        """The part of conv1's weight that reads ``x``: (width, Cx, 1, 1)."""
        return self.conv1.weight[:, :self.inplanes]

    def _conv1(self, x: Tensor, h: Optional[Tensor],
               x_proj: Optional[Tensor]) -> Tensor:
        """conv1 applied to ``cat([x, h], dim=1)``; returns (N, width, H, W).

        ``h`` None stands for the zero initial state. ``x_proj``, when
        given, is the x part already computed by the caller.
        """
        if not self.split_conv1:
            if h is None:
                h = x.new_zeros((x.shape[0], self.conv1.in_channels -
                                 self.inplanes, *x.shape[2:]))
            return self.conv1(torch.cat([x, h], dim=1))
        if x_proj is None:
            x_proj = F.conv2d(x, self.conv1_x_weight)
        if h is None:  # a zero state adds nothing
            return x_proj
        h_weight = self.conv1.weight[:, self.inplanes:]
        if not h.is_contiguous():  # channels_last: conv keeps the layout
            # In place on a fresh conv output: autograd never needs it.
            return F.conv2d(h, h_weight).add_(x_proj)
        # The 1x1 conv as a batched matrix product that adds x_proj in the
        # same pass, into a fresh contiguous tensor (x_proj is often a
        # strided view, which the following norm reads about 2x slower).
        n, width = x_proj.shape[:2]
        k = h.shape[1]
        out = torch.baddbmm(
            x_proj.reshape(n, width, -1),
            h_weight.reshape(width, k).expand(n, width, k),
            h.reshape(n, k, -1))
        return out.view(x_proj.shape)

    def forward(self,
                x: Tensor,
                h: Optional[Tensor],
                x_proj: Optional[Tensor] = None
                ) -> Tuple[Tensor, Optional[Tensor]]:
        """Run the block.

        Args:
            x (Tensor): Residual stream, (N, inplanes, H, W).
            h (Tensor, optional): Hidden state, (N, k, H, W); None for the
                zero initial state.
            x_proj (Tensor, optional): ``conv1`` applied to ``x`` alone,
                (N, width, H, W), when the caller computed it already.

        Returns:
            tuple[Tensor, Tensor]: The block output, (N, planes * 4, H', W'),
            and ``h`` brought to the output's spatial size (N, k, H', W'),
            still None if it was None.
        """
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self._conv1(x, h, x_proj)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        if self.eca is not None:
            out = self.eca(out)
        if self.pool_hidden and h is not None:
            # ceil_mode keeps h the size of the strided conv's output for odd
            # inputs (the reference 2x2 pooling rounds down and then fails to
            # add); for even inputs the two are identical.
            h = F.avg_pool2d(h, 2, 2, ceil_mode=True)
        # In place, as in mmdet's ResNet: the norm's backward keeps its
        # input, not its output.
        out += identity
        return self.relu(out), h


def _check_kernel_sizes(kernel_sizes: Optional[Sequence[int]],
                        num_stages: int) -> Tuple[Optional[int], ...]:
    """Validate ``eca_kernel_sizes`` and return one entry per stage."""
    if kernel_sizes is None:
        return (None, ) * num_stages
    kernel_sizes = tuple(kernel_sizes)
    if len(kernel_sizes) != num_stages:
        raise ValueError(
            f'eca_kernel_sizes needs one kernel size per stage '
            f'({num_stages}), got {len(kernel_sizes)}: {kernel_sizes}. '
            f'The paper uses (5, 5, 5, 7).')
    for k in kernel_sizes:
        if not isinstance(k, int) or k < 1 or k % 2 == 0:
            raise ValueError(
                f'eca_kernel_sizes must be odd positive integers (the 1D '
                f'conv is padded symmetrically), got {kernel_sizes}.')
    return kernel_sizes


def _fixed_affine(norm: nn.Module) -> Optional[Tuple[Tensor, Tensor]]:
    """``(scale, shift)``, (k,) each, of a norm using fixed statistics.

    A BatchNorm in eval mode maps ``t`` to ``scale * t + shift`` per channel;
    for any other norm (training-mode BN, GN, ...) returns None.
    """
    if (not isinstance(norm, _BatchNorm) or norm.training
            or norm.running_var is None):
        return None
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    return scale, shift


def _tanh_(t: Tensor) -> Tensor:
    """``tanh(t)``, overwriting ``t`` (which no autograd node may need).

    On CPU without autograd, fp32/fp64 ``t`` is mapped as
    ``2 * sigmoid(2t) - 1``: the same function, to 2e-7 absolute in fp32.
    torch's CPU tanh kernel is much slower than its sigmoid: on ``h`` of a
    2x3x512x512 input after the stem (2x32x128x128), tanh takes 1.4 ms and
    the four passes of the sigmoid form 0.3 ms (2 threads, benchmark VM).
    Low-precision types keep tanh: there the sigmoid form would
    lose the small values to cancellation.
    """
    if (t.device.type != 'cpu' or torch.is_grad_enabled()
            or t.dtype not in (torch.float32, torch.float64)):
        return t.tanh_()
    return t.mul_(2).sigmoid_().mul_(2).sub_(1)


@MODELS.register_module()
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
        rla_channels (int): Channels ``k`` of the hidden state.
        eca_kernel_sizes (Sequence[int], optional): One odd ECA kernel size
            per stage to build ECA-RLA-Net (the paper uses (5, 5, 5, 7)).
        with_se (bool): Adds squeeze-and-excitation to every block.
        groups (int): Groups of the 3x3 convs (RLA-ResNeXt).
        base_width (int): Channels per group at 64 planes (RLA-ResNeXt).
        strides (Sequence[int]): Stride of the first block of each stage.
        dilations (Sequence[int]): Dilation of each stage's 3x3 convs.
        out_indices (Sequence[int]): Stages whose outputs are returned.
        frozen_stages (int): Freeze the stem and the first ``frozen_stages``
            stages, RLA parts included; -1 freezes nothing.
        conv_cfg (dict, optional): Config of the conv layers.
        norm_cfg (dict): Config of the norm layers (BN, SyncBN, GN, ...).
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        with_cp (bool): Gradient-checkpoint each block (saves memory).
        zero_init_residual (bool): Zero the last norm of every block.
        return_hidden (bool): Also return the final hidden state ``h``
            (then the last update is computed instead of skipped).
        init_cfg (dict or list[dict], optional): Initialization config; a
            ``dict(type='Pretrained', checkpoint=...)`` is loaded strictly.

    Example:
        >>> import torch
        >>> from rla_mm.models import RLAResNet
        >>> model = RLAResNet(depth=50).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(1, 3, 64, 64))]
        [(1, 256, 16, 16), (1, 512, 8, 8), (1, 1024, 4, 4), (1, 2048, 2, 2)]
    """

    arch_settings: Dict[int, Tuple[int, ...]] = {
        50: (3, 4, 6, 3),
        101: (3, 4, 23, 3),
        152: (3, 8, 36, 3),
    }
    stage_planes: Tuple[int, ...] = (64, 128, 256, 512)
    block = RLABottleneck

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 rla_channels: int = 32,
                 eca_kernel_sizes: Optional[Sequence[int]] = None,
                 with_se: bool = False,
                 groups: int = 1,
                 base_width: int = 64,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = True,
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 return_hidden: bool = False,
                 init_cfg=None) -> None:
        if depth not in self.arch_settings:
            raise ValueError(f'invalid depth {depth} for RLAResNet; valid '
                             f'depths are {sorted(self.arch_settings)}.')
        num_stages = len(self.stage_planes)
        if not isinstance(rla_channels, int) or rla_channels < 1:
            raise ValueError(f'rla_channels must be a positive integer, got '
                             f'{rla_channels!r} (the paper uses 32).')
        eca_sizes = _check_kernel_sizes(eca_kernel_sizes, num_stages)
        out_indices = tuple(out_indices)
        if not out_indices or any(
                not 0 <= i < num_stages for i in out_indices):
            raise ValueError(f'out_indices must be a non-empty subset of '
                             f'{tuple(range(num_stages))}, got {out_indices}.')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'frozen_stages must be in [-1, {num_stages}], '
                             f'got {frozen_stages}.')
        for name, value in (('strides', strides), ('dilations', dilations)):
            if len(value) != num_stages:
                raise ValueError(f'{name} needs {num_stages} entries, got '
                                 f'{tuple(value)}.')
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d', mode='fan_out',
                     nonlinearity='relu'),
                dict(type='Constant', val=1,
                     layer=['_BatchNorm', 'GroupNorm']),
            ]
        super().__init__(init_cfg)
        self.depth = depth
        self.rla_channels = rla_channels
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.return_hidden = return_hidden
        # Stages after the last returned one never influence an output.
        self.num_run_stages = max(out_indices) + 1

        self.conv1 = build_conv_layer(
            conv_cfg, in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, 64)[1]
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

        self.stages = nn.ModuleList()
        self.stage_bns = nn.ModuleList()
        self.conv_outs = nn.ModuleList()
        self.recurrent_convs = nn.ModuleList()
        self.out_channels: List[int] = []
        inplanes = 64
        for s, num_blocks in enumerate(self.arch_settings[depth]):
            planes = self.stage_planes[s]
            stage = self._make_stage(
                inplanes, planes, num_blocks, strides[s], dilations[s],
                dict(rla_channels=rla_channels, groups=groups,
                     base_width=base_width, eca_kernel_size=eca_sizes[s],
                     with_se=with_se, conv_cfg=conv_cfg, norm_cfg=norm_cfg))
            inplanes = planes * self.block.expansion
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

        self._freeze_dead_parameters()
        self._freeze_stages()

    def _make_stage(self, inplanes: int, planes: int, num_blocks: int,
                    stride: int, dilation: int, block_kwargs: dict
                    ) -> nn.ModuleList:
        """Build one stage; its first block carries stride and projection."""
        out_channels = planes * self.block.expansion
        downsample = None
        if stride != 1 or inplanes != out_channels:
            downsample = nn.Sequential(
                build_conv_layer(
                    block_kwargs['conv_cfg'], inplanes, out_channels, 1,
                    stride=stride, bias=False),
                build_norm_layer(block_kwargs['norm_cfg'], out_channels)[1])
        blocks = [
            self.block(inplanes, planes, stride=stride, dilation=dilation,
                       downsample=downsample, **block_kwargs)
        ]
        blocks += [
            self.block(out_channels, planes, dilation=dilation,
                       **block_kwargs) for _ in range(1, num_blocks)
        ]
        return nn.ModuleList(blocks)

    def _rla_modules(self, stage: int) -> List[nn.Module]:
        """All modules owned by ``stage``: its blocks and its RLA parts."""
        return [self.stages[stage], self.stage_bns[stage],
                self.conv_outs[stage], self.recurrent_convs[stage]]

    def _freeze_dead_parameters(self) -> None:
        """Stop grads of parameters that cannot reach any output.

        Under DDP with ``find_unused_parameters=False`` every parameter that
        requires grad must receive one. Stages after the last returned one
        are never run, and the norm of the update after the last run block
        is skipped unless ``return_hidden`` asks for the final ``h``.
        """
        dead: List[nn.Module] = []
        for s in range(self.num_run_stages, len(self.stages)):
            dead += self._rla_modules(s)
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
            frozen += self._rla_modules(s)
        for module in frozen:
            module.eval()
            module.requires_grad_(False)

    def init_weights(self) -> None:
        """Initialize from ``init_cfg``; a Pretrained checkpoint is strict.

        mmengine's ``Pretrained`` initializer only warns about missing or
        mismatched keys, which would silently train from random weights when
        a wrong file is given; here any mismatch raises an error instead.
        """
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
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

    def _project(self, stage: int, y: Tensor,
                 next_block: Optional[RLABottleneck],
                 affine: Optional[Tuple[Tensor, Tensor]]
                 ) -> Tuple[Optional[Tensor], Tensor]:
        """``conv_outs[stage](y)``, fused with the next block's conv1 on y.

        Both are 1x1 convs over the same (wide) block output; on CPU their
        cost is dominated by reading ``y`` and writing its gradient, so they
        run as one conv with the two weights stacked.

        Args:
            stage (int): Stage of the block that produced ``y``.
            y (Tensor): The block output, (N, C, H, W).
            next_block (RLABottleneck, optional): The block that reads ``y``
                next, if any.
            affine (tuple[Tensor, Tensor], optional): ``(scale, shift)`` of
                the state norm, folded into conv_out's weight and bias.

        Returns:
            tuple: The next block's conv1 applied to ``y`` alone,
            (N, width, H, W), or None when it cannot be fused; and
            ``conv_outs[stage](y)`` (times ``scale``, plus ``shift``),
            (N, k, H, W).
        """
        weight, bias = self.conv_outs[stage].weight, None
        if affine is not None:
            scale, bias = affine
            weight = weight * scale[:, None, None, None]
        if next_block is None or not next_block.split_conv1:
            return None, F.conv2d(y, weight, bias)
        x_weight = next_block.conv1_x_weight
        width = x_weight.shape[0]
        weight = torch.cat([x_weight, weight])
        if bias is not None:
            bias = torch.cat([bias.new_zeros(width), bias])
        x_proj, h_in = F.conv2d(y, weight, bias).split(
            [width, self.rla_channels], 1)
        return x_proj, h_in

    def _update_hidden(self, stage: int, index: int, y: Tensor,
                       h: Optional[Tensor], next_block: Optional[RLABottleneck]
                       ) -> Tuple[Tensor, Optional[Tensor]]:
        """The RLA update after block ``index`` of ``stage``.

        ``h = recurrent_convs[s](tanh(stage_bns[s][j](h + conv_outs[s](y))))``

        ``y`` is the block's final output (after the residual add and ReLU).
        The paper's text reads as if the residual branch were aggregated, and
        the reference code assigns ``y = out`` before the add, but its
        in-place ``out += identity`` and in-place ReLU then overwrite that
        very tensor; the released weights were trained with the block output,
        so that is what is used here.

        ``conv_outs[s]`` runs fused with the next block's conv1 (see
        ``_project``). A norm with fixed statistics (eval mode, or
        ``norm_eval``) is a per-channel affine map ``scale * t + shift``:
        both are folded into that conv and ``scale * h`` is added by one
        ``addcmul``, so the norm costs no pass of its own.

        Args:
            stage (int): Stage of the block that produced ``y``.
            index (int): Index of that block in its stage.
            y (Tensor): The block output, (N, C, H, W).
            h (Tensor, optional): Hidden state at the same size,
                (N, k, H, W); None for the zero initial state.
            next_block (RLABottleneck, optional): The block that reads ``y``
                next, if any.

        Returns:
            tuple: The new ``h``, (N, k, H, W), and the next block's conv1
            applied to ``y`` alone, (N, width, H, W), or None when that conv
            could not be fused.
        """
        conv_out = self.conv_outs[stage]
        norm = self.stage_bns[stage][index]
        if type(conv_out) is nn.Conv2d:
            affine = _fixed_affine(norm)
            x_proj, h_in = self._project(stage, y, next_block, affine)
        else:  # a custom conv_cfg: nothing is fused
            affine, x_proj, h_in = None, None, conv_out(y)
        if affine is None:
            t = norm(h_in if h is None else h + h_in)
        elif h is None:
            t = h_in.clone()  # h_in is a view into the fused conv's output
        else:
            t = torch.addcmul(h_in, h, affine[0][:, None, None])
        return self.recurrent_convs[stage](_tanh_(t)), x_proj

    def _run_block(self, stage: int, index: int, x: Tensor,
                   h: Optional[Tensor], x_proj: Optional[Tensor],
                   update: bool, next_block: Optional[RLABottleneck]
                   ) -> Tuple[Tensor, Optional[Tensor], Optional[Tensor]]:
        """One block and, if ``update``, the RLA update that follows it.

        Returns the block output, the hidden state, and the next block's
        conv1 x part when it was fused into the update.
        """
        x, h = self.stages[stage][index](x, h, x_proj)
        if not update:
            return x, h, None
        h, x_proj = self._update_hidden(stage, index, x, h, next_block)
        return x, h, x_proj

    def _block_order(self) -> List[Tuple[int, int]]:
        """(stage, index) of every block that runs, in order."""
        return [(s, j) for s in range(self.num_run_stages)
                for j in range(len(self.stages[s]))]

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Compute the stage outputs.

        Args:
            x (Tensor): Images, (N, in_channels, H, W).

        Returns:
            tuple[Tensor]: For each stage in ``out_indices``, its output of
            shape (N, 256 * 2**s, H_s, W_s) with stride 4, 8, 16, 32; followed
            by the final hidden state (N, k, H_last, W_last) when
            ``return_hidden`` is set.
        """
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        # h starts as zeros; None lets the first block and update skip the
        # work a zero state would do.
        h: Optional[Tensor] = None
        x_proj = None
        outs = []
        order = self._block_order()
        use_cp = self.with_cp and self.training and torch.is_grad_enabled()
        for i, (s, j) in enumerate(order):
            is_last = i == len(order) - 1
            # The update after the last block can only reach ``h`` itself.
            update = self.return_hidden or not is_last
            next_block = None
            if not is_last:
                next_stage, next_index = order[i + 1]
                next_block = self.stages[next_stage][next_index]
            args = (s, j, x, h, x_proj, update, next_block)
            if use_cp:
                x, h, x_proj = cp.checkpoint(
                    self._run_block, *args, use_reentrant=False)
            else:
                x, h, x_proj = self._run_block(*args)
            if j == len(self.stages[s]) - 1 and s in self.out_indices:
                outs.append(x)
        if self.return_hidden:
            outs.append(h)
        return tuple(outs)

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
