"""An independent, literal RLA-MobileNetV2 ImageNet classifier.

Plain torch, nothing from rla_mm: the authors' network (dsRLA-MobileNetV2)
as their paper code describes it, with the parameter names of their
released files, so that tests can check ``RLAMobileNetV2`` + MMPretrain's
``GlobalAveragePooling`` + ``LinearClsHead`` against it and load its state
dict as a released file. Like the definition, it floors the 2x2 pooling of
``h`` and so only works where every strided layer gets an even input (e.g.
inputs a multiple of 32).
"""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

# t (expansion), c (channels), n (blocks), s (stride of the first block).
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def conv_bn_relu6(cin: int, cout: int, kernel: int, stride: int = 1,
                  groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2,
                  groups=groups, bias=False), nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True))


class ChannelAttention(nn.Module):
    """ECA: sigmoid of a 1D conv over the pooled channels scales ``x``."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, 1, k, padding=(k - 1) // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)  # (N, C, 1, 1)
        s = self.conv(s.squeeze(-1).transpose(-1, -2))  # (N, 1, C)
        s = torch.sigmoid(s.transpose(-1, -2).unsqueeze(-1))  # (N, C, 1, 1)
        return x * s.expand_as(x)


class Block(nn.Module):

    def __init__(self, cin: int, cout: int, stride: int, t: int, k: int,
                 eca_k) -> None:
        super().__init__()
        self.stride = stride
        self.residual = stride == 1 and cin == cout
        hidden = int(round(cin * t))
        self.conv1x1 = conv_bn_relu6(cin, hidden, 1) if t != 1 else None
        parts = [
            conv_bn_relu6(hidden + k, hidden + k, 3, stride, hidden + k),
            nn.Conv2d(hidden + k, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        if eca_k is not None:
            parts.append(ChannelAttention(eca_k))
        self.conv = nn.Sequential(*parts)

    def forward(self, x, h) -> Tuple[torch.Tensor, ...]:
        identity = x
        if self.conv1x1 is not None:
            x = self.conv1x1(x)
        y = self.conv(torch.cat((x, h), dim=1))
        out = identity + y if self.residual else y
        if self.stride != 1:
            h = F.avg_pool2d(h, 2, 2)
        return out, y, h


class ReferenceRLAMobileNetV2(nn.Module):
    """The authors' classifier: features, ``bn2``, ``conv2``, dropout, fc.

    Args:
        rla_channels (int): Channels of ``h``.
        eca (bool): The ECA variant: kernel 1 in layers of fewer than 96
            channels, 3 in the others.
        num_classes (int): Outputs of the fc layer.
    """

    def __init__(self, rla_channels: int = 32, eca: bool = False,
                 num_classes: int = 1000) -> None:
        super().__init__()
        k = rla_channels
        self.rla_channels = k
        self.conv1 = conv_bn_relu6(3, 32, 3, 2)
        # A new cell starts at the first layer and at each later layer
        # that downsamples; the authors' list repeats ONE conv per cell.
        self.new_cells = [0] + [
            i for i in range(1, len(SETTINGS)) if SETTINGS[i][3] == 2
        ]
        shared = nn.Conv2d(k, k, 3, 1, 1, groups=k, bias=False)
        self.recurrent_dsconvs = nn.ModuleList([shared] *
                                               len(self.new_cells))
        stages, stage_bns, conv_outs = [], [], []
        cin = 32
        for t, c, n, s in SETTINGS:
            eca_k = (1 if c < 96 else 3) if eca else None
            blocks = []
            for i in range(n):
                blocks.append(Block(cin, c, s if i == 0 else 1, t, k, eca_k))
                cin = c
            stages.append(nn.ModuleList(blocks))
            stage_bns.append(
                nn.ModuleList(nn.BatchNorm2d(k) for _ in range(n)))
            conv_outs.append(nn.Conv2d(c, k, 1, bias=False))
        self.stages = nn.ModuleList(stages)
        self.stage_bns = nn.ModuleList(stage_bns)
        self.conv_outs = nn.ModuleList(conv_outs)
        self.conv2 = conv_bn_relu6(cin + k, 1280, 1)
        self.bn2 = nn.BatchNorm2d(k)
        self.classifier = nn.Sequential(
            nn.Dropout(0.2), nn.Linear(1280, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out')
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Layer outputs 0-6, then the ``conv2`` output (mmdet's 7)."""
        x = self.conv1(x)
        n, _, height, width = x.shape
        h = torch.zeros(n, self.rla_channels, height, width, dtype=x.dtype)
        outs = []
        cell = -1
        for j, (stage, bns, conv_out) in enumerate(
                zip(self.stages, self.stage_bns, self.conv_outs)):
            if j in self.new_cells:
                cell += 1
            recurrent = self.recurrent_dsconvs[cell]
            for block, bn in zip(stage, bns):
                x, y, h = block(x, h)
                h = recurrent(torch.tanh(bn(h + conv_out(y))))
            outs.append(x)
        h = F.relu6(self.bn2(h))
        outs.append(self.conv2(torch.cat((x, h), dim=1)))
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)[-1]
        x = F.adaptive_avg_pool2d(x, 1).reshape(x.shape[0], -1)
        return self.classifier(x)
