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


def _bn_sd(sd, name, x):
    return F.batch_norm(x, sd[f'{name}.running_mean'],
                        sd[f'{name}.running_var'], sd[f'{name}.weight'],
                        sd[f'{name}.bias'], False, 0.0, 1e-5)


def reference_logits(sd, x, layers=(3, 4, 6, 3)):
    """Logits of the authors' ImageNet network, read from a state dict.

    ``sd`` is keyed as the released files are, without ``module.``: the
    stem, ``stages.s.j.*`` blocks, ``stage_bns``, ``conv_outs``,
    ``recurrent_convs``, then ``bn2`` on the final ``h`` and ``fc`` on the
    pooled concatenation [x, ReLU(bn2(h))]. Strides, groups and ECA are
    read from the weights; nothing is taken from an rla_mm module. Even
    stage inputs only, as the definition.
    """
    x = F.conv2d(x, sd['conv1.weight'], stride=2, padding=3)
    x = F.max_pool2d(F.relu(_bn_sd(sd, 'bn1', x)), 3, 2, 1)
    k = sd['conv_outs.0.weight'].shape[0]
    h = x.new_zeros(x.shape[0], k, *x.shape[2:])
    for s, num_blocks in enumerate(layers):
        for j in range(num_blocks):
            p = f'stages.{s}.{j}'
            identity = x
            stride = 2 if (s > 0 and j == 0) else 1
            out = F.conv2d(torch.cat((x, h), dim=1), sd[f'{p}.conv1.weight'])
            out = F.relu(_bn_sd(sd, f'{p}.bn1', out))
            w2 = sd[f'{p}.conv2.weight']
            groups = out.shape[1] // w2.shape[1]
            out = F.conv2d(out, w2, stride=stride, padding=1, groups=groups)
            out = F.relu(_bn_sd(sd, f'{p}.bn2', out))
            out = _bn_sd(sd, f'{p}.bn3', F.conv2d(out, sd[f'{p}.conv3.weight']))
            if f'{p}.se.fc.0.weight' in sd:
                squeezed = out.mean(dim=(2, 3))
                squeezed = F.relu(F.linear(squeezed, sd[f'{p}.se.fc.0.weight']))
                scale = torch.sigmoid(F.linear(squeezed,
                                               sd[f'{p}.se.fc.2.weight']))
                out = out * scale[:, :, None, None]
            if f'{p}.eca.conv.weight' in sd:
                w = sd[f'{p}.eca.conv.weight']
                pooled = out.mean(dim=(2, 3))[:, None, :]  # (N, 1, C)
                scale = torch.sigmoid(
                    F.conv1d(pooled, w, padding=(w.shape[-1] - 1) // 2))
                out = out * scale[:, 0, :, None, None]
            if f'{p}.downsample.0.weight' in sd:
                identity = _bn_sd(
                    sd, f'{p}.downsample.1',
                    F.conv2d(x, sd[f'{p}.downsample.0.weight'],
                             stride=stride))
                if stride != 1:
                    h = F.avg_pool2d(h, 2)
            x = F.relu(out + identity)
            h = h + F.conv2d(x, sd[f'conv_outs.{s}.weight'])
            h = torch.tanh(_bn_sd(sd, f'stage_bns.{s}.{j}', h))
            h = F.conv2d(h, sd[f'recurrent_convs.{s}.weight'], padding=1)
    h = F.relu(_bn_sd(sd, 'bn2', h))
    features = torch.cat((x, h), dim=1).mean(dim=(2, 3))
    return F.linear(features, sd['fc.weight'], sd['fc.bias'])
