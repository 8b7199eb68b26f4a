"""An independent, literal implementation of the RLA-ResNet forward pass.

It follows the reference definition step by step (materialised
concatenation, 2x2 average pooling of ``h`` that rounds down, the update
computed from the block output) and reads its weights from an
``RLAResNet``, so tests can check the optimised module against it. It only
works where that definition works: stage inputs of even size.
"""
from typing import List, Literal

import torch
import torch.nn.functional as F


def _bn(module, x):
    return F.batch_norm(x, module.running_mean, module.running_var,
                        module.weight, module.bias, False, 0.0, module.eps)


def _conv(module, x):
    return F.conv2d(x, module.weight, module.bias, module.stride,
                    module.padding, module.dilation, module.groups)


def _eca(module, x):
    pooled = F.adaptive_avg_pool2d(x, 1).squeeze(-1).transpose(-1, -2)
    weight = torch.sigmoid(module.conv(pooled).transpose(-1, -2).unsqueeze(-1))
    return x * weight.expand_as(x)


def reference_forward(model, x,
                      aggregate: Literal['output', 'branch'] = 'output'
                      ) -> List[torch.Tensor]:
    """Stage outputs of ``model`` (eval mode) by the reference definition.

    ``aggregate='branch'`` is the variant the paper's text suggests: ``h``
    updated from the residual branch, before the identity is added.
    """
    x = F.max_pool2d(F.relu(_bn(model.bn1, _conv(model.conv1, x))), 3, 2, 1)
    h = x.new_zeros(x.shape[0], model.rla_channels, *x.shape[2:])
    outs = []
    for s, stage in enumerate(model.stages):
        for j, block in enumerate(stage):
            identity = x
            out = _conv(block.conv1, torch.cat((x, h), dim=1))
            out = F.relu(_bn(block.bn1, out))
            out = F.relu(_bn(block.bn2, _conv(block.conv2, out)))
            out = _bn(block.bn3, _conv(block.conv3, out))
            if block.eca is not None:
                out = _eca(block.eca, out)
            if block.downsample is not None:
                identity = _bn(block.downsample[1],
                               _conv(block.downsample[0], x))
                if block.stride != 1:
                    h = F.avg_pool2d(h, 2)
            x = F.relu(out + identity)
            # The block output, as the released weights were trained.
            y = x if aggregate == 'output' else out
            h = h + _conv(model.conv_outs[s], y)
            h = torch.tanh(_bn(model.stage_bns[s][j], h))
            h = _conv(model.recurrent_convs[s], h)
        outs.append(x)
    return outs
