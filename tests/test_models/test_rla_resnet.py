import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm

import rla_mm  # noqa: F401  (registers RLAResNet)
from rla_lab.paper.coupling import BACKBONE, rla_key
from rla_mm.models.backbones.rla_resnet import (ECA, RLABottleneck, RLAResNet,
                                                conv1x1_split, fused_conv1x1)
from rla_mm.utils import CheckpointMismatchError

from .reference_rla import reference_forward

STAGE_BLOCKS_50 = (3, 4, 6, 3)


def randomize_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every norm non-trivial affine params and running statistics."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (_BatchNorm, nn.GroupNorm)):
            m.weight.data = torch.rand(m.weight.shape, generator=gen) + 0.5
            m.bias.data = torch.rand(m.bias.shape, generator=gen) - 0.5
        if isinstance(m, _BatchNorm):
            m.running_mean = torch.rand(m.running_mean.shape,
                                        generator=gen) - 0.5
            m.running_var = torch.rand(m.running_var.shape,
                                       generator=gen) + 0.5
    return model


def make_model(**kwargs) -> RLAResNet:
    torch.manual_seed(0)
    model = RLAResNet(depth=50, **kwargs)
    model.init_weights()
    return randomize_norms(model)


@pytest.fixture(scope='module')
def rla50() -> RLAResNet:
    return make_model().eval()


@pytest.fixture(scope='module')
def eca_rla50() -> RLAResNet:
    return make_model(eca_kernel_sizes=(5, 5, 5, 7)).eval()


def expected_keys(eca: bool) -> set:
    """The released checkpoints' backbone keys, written out independently."""
    bn = ('weight', 'bias', 'running_mean', 'running_var',
          'num_batches_tracked')
    keys = {'conv1.weight'} | {f'bn1.{p}' for p in bn}
    for s, num_blocks in enumerate(STAGE_BLOCKS_50):
        keys |= {f'conv_outs.{s}.weight', f'recurrent_convs.{s}.weight'}
        keys |= {f'stages.{s}.0.downsample.0.weight'}
        keys |= {f'stages.{s}.0.downsample.1.{p}' for p in bn}
        for j in range(num_blocks):
            keys |= {f'stage_bns.{s}.{j}.{p}' for p in bn}
            for i in (1, 2, 3):
                keys.add(f'stages.{s}.{j}.conv{i}.weight')
                keys |= {f'stages.{s}.{j}.bn{i}.{p}' for p in bn}
            if eca:
                keys.add(f'stages.{s}.{j}.eca.conv.weight')
    return keys


@pytest.mark.parametrize('eca', [False, True])
def test_state_dict_layout_matches_released_checkpoints(rla50, eca_rla50,
                                                        eca):
    model = eca_rla50 if eca else rla50
    state = model.state_dict()
    assert set(state) == expected_keys(eca)
    shapes = {
        'conv1.weight': (64, 3, 7, 7),
        'stages.0.0.conv1.weight': (64, 64 + 32, 1, 1),
        'stages.0.1.conv1.weight': (64, 256 + 32, 1, 1),
        'stages.1.0.conv1.weight': (128, 256 + 32, 1, 1),
        'stages.1.0.conv2.weight': (128, 128, 3, 3),
        'stages.3.2.conv3.weight': (2048, 512, 1, 1),
        'stages.2.0.downsample.0.weight': (1024, 512, 1, 1),
        'conv_outs.0.weight': (32, 256, 1, 1),
        'conv_outs.3.weight': (32, 2048, 1, 1),
        'recurrent_convs.2.weight': (32, 32, 3, 3),
        'stage_bns.2.5.weight': (32, ),
    }
    if eca:
        shapes['stages.0.0.eca.conv.weight'] = (1, 1, 5)
        shapes['stages.3.1.eca.conv.weight'] = (1, 1, 7)
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key


def test_parameter_counts(rla50, eca_rla50):
    def count(m):
        return sum(p.numel() for p in m.parameters())

    assert count(rla50) == 23_789_632
    assert count(ResNet(depth=50)) == 23_508_032
    # ECA adds one 1D kernel per block: 3x5 + 4x5 + 6x5 + 3x7.
    assert count(eca_rla50) == 23_789_632 + 86
    assert count(RLAResNet(depth=101)) > count(rla50)


@pytest.mark.parametrize('fixture', ['rla50', 'eca_rla50'])
def test_matches_reference_definition(fixture, request):
    # float64: a different summation order must not hide a real difference.
    model = copy.deepcopy(request.getfixturevalue(fixture)).double()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        outs = model(x)
        ref = reference_forward(model, x)
    assert len(outs) == 4
    for out, expected in zip(outs, ref):
        torch.testing.assert_close(out, expected, rtol=1e-9, atol=1e-9)


def test_conv1x1_split_equals_conv_of_concatenation():
    x = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    h = torch.randn(2, 3, 6, 7, dtype=torch.float64)
    weight = torch.randn(4, 8, 1, 1, dtype=torch.float64)
    expected = F.conv2d(torch.cat([x, h], 1), weight)
    torch.testing.assert_close(conv1x1_split(x, h, weight), expected)
    x_part = F.conv2d(x, weight[:, :5])
    torch.testing.assert_close(conv1x1_split(x, h, weight, x_part), expected)


def test_fused_conv1x1_equals_separate_convs():
    x = torch.randn(2, 6, 5, 4, dtype=torch.float64)
    weights = [torch.randn(c, 6, 1, 1, dtype=torch.float64) for c in (3, 2)]
    for out, w in zip(fused_conv1x1(x, weights), weights):
        torch.testing.assert_close(out, F.conv2d(x, w))


@pytest.mark.parametrize('switch_off', [
    (), ('fuse_projection', ), ('fuse_projection', 'split_conv1')])
@pytest.mark.parametrize('train', [False, True])
def test_each_fast_path_switch_keeps_the_function(switch_off, train):
    """The ablation switches change speed, never the result."""
    # 48x48: the last stage's maps are 2x2, so training-mode BN does not
    # normalise over just 2 values (which amplifies rounding differences).
    x = torch.randn(2, 3, 48, 48, dtype=torch.float64)
    results = []
    for off in ((), switch_off):
        model = make_model(norm_eval=not train).double().train(train)
        model.set_fast_paths(**{name: False for name in off})
        outs = model(x)
        sum((o * o).sum() for o in outs).backward()
        results.append((outs, {n: p.grad for n, p in model.named_parameters()
                               if p.grad is not None}))
    (outs_a, grads_a), (outs_b, grads_b) = results
    # float64 rounding, relative to scale.
    for a, b in zip(outs_a, outs_b):
        assert (a - b).abs().max() <= 1e-8 * b.abs().max()
    assert grads_a.keys() == grads_b.keys()
    for name, grad in grads_a.items():
        error = (grad - grads_b[name]).abs().max()
        assert error <= 1e-8 * grad.abs().max(), name


class _PlainConv(nn.Conv2d):
    """An nn.Conv2d subclass: RLAResNet must take its unfused path."""


@pytest.mark.parametrize('train', [False, True])
def test_custom_conv_cfg_takes_unfused_path_with_same_result(train):
    from mmengine.registry import MODELS as MMENGINE_MODELS
    MMENGINE_MODELS.register_module('_PlainConv', module=_PlainConv,
                                    force=True)
    try:
        custom = make_model(conv_cfg=dict(type='_PlainConv'),
                            norm_eval=not train)
    finally:
        MMENGINE_MODELS.module_dict.pop('_PlainConv')
    fused = make_model(norm_eval=not train)
    fused.load_state_dict(custom.state_dict())
    assert not custom.stages[0][0].split_conv1
    x = torch.randn(2, 3, 64, 64)
    with torch.set_grad_enabled(train):
        outs = [m.train(train)(x) for m in (custom, fused)]
    for a, b in zip(*outs):  # fp32 rounding, relative to the output scale
        assert (a - b).abs().max() <= 1e-4 * b.abs().max()


def test_gradients_match_reference_with_frozen_norms():
    """``norm_eval`` training (fixed norms) has the exact gradients."""
    model = make_model(zero_init_residual=False, norm_eval=True).double()
    model.train()  # norm_eval: every BN uses its running statistics
    assert not model.stage_bns[0][0].training
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    grads = []
    for forward in (model, lambda inp: reference_forward(model, inp)):
        model.zero_grad()
        sum((o * o).sum() for o in forward(x)).backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()
                      if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    assert 'stage_bns.0.1.weight' in grads[0]
    for name, grad in grads[0].items():
        # Randomised norms make gradients large: compare relative to scale.
        error = (grad - grads[1][name]).abs().max() / grad.abs().max()
        assert error < 1e-10, name


def test_rla_update_uses_block_output(rla50):
    """h is updated from the block output, not from its residual branch."""
    model = copy.deepcopy(rla50).double()
    x = torch.randn(1, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        outs = model(x)
        output = reference_forward(model, x, aggregate='output')
        branch = reference_forward(model, x, aggregate='branch')
    for out, expected in zip(outs, output):
        torch.testing.assert_close(out, expected, rtol=1e-9, atol=1e-9)
    # The two variants differ at every stage, so the match above decides.
    for out, variant in zip(outs, branch):
        assert not torch.allclose(out, variant, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize('size', [(65, 97), (33, 47), (50, 61), (17, 17)])
def test_any_input_size_gives_resnet_shapes(rla50, size):
    resnet = ResNet(depth=50)
    resnet.eval()  # mmdet's ResNet.train() returns None
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        outs = rla50(x)
        ref = resnet(x)
    assert [o.shape for o in outs] == [r.shape for r in ref]
    assert all(torch.isfinite(o).all() for o in outs)


@pytest.mark.parametrize('stem_channels', [None, 16])
def test_width_follows_mmdet_resnet(stem_channels):
    """Every tensor of mmdet's ResNet-50 at another width has its RLA
    counterpart with that shape (conv1s read k more channels)."""
    kwargs = dict(depth=50, base_channels=32, stem_channels=stem_channels)
    resnet = ResNet(**kwargs)
    model = RLAResNet(rla_channels=16, **kwargs)
    state = model.state_dict()
    for key, value in resnet.state_dict().items():
        key = rla_key(BACKBONE + key)[len(BACKBONE):]
        shape = value.shape
        if key.endswith('.conv1.weight') and key.startswith('stages.'):
            shape = (shape[0], shape[1] + 16, *shape[2:])
        assert state[key].shape == shape, key
    assert model.out_channels == [128, 256, 512, 1024]
    resnet.eval()
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        outs, ref = model(x), resnet(x)
    assert [o.shape for o in outs] == [r.shape for r in ref]


def test_hidden_pooling_equals_reference_on_even_sizes():
    block = RLABottleneck(
        64, 64, rla_channels=8, stride=2,
        downsample=nn.Sequential(
            nn.Conv2d(64, 256, 1, 2), nn.BatchNorm2d(256)))
    block.eval()
    x, h = torch.randn(1, 64, 8, 6), torch.randn(1, 8, 8, 6)
    _, h_out = block(x, h)
    torch.testing.assert_close(h_out, nn.functional.avg_pool2d(h, 2))
    _, h_odd = block(torch.randn(1, 64, 9, 7), torch.randn(1, 8, 9, 7))
    assert h_odd.shape[-2:] == (5, 4)


def test_eca_formula():
    eca = ECA(3)
    x = torch.randn(2, 6, 4, 5)
    pooled = x.mean((2, 3))  # (N, C)
    kernel = eca.conv.weight.view(3)
    padded = nn.functional.pad(pooled, (1, 1))
    attn = torch.stack([(padded[:, c:c + 3] * kernel).sum(1)
                        for c in range(6)], 1).sigmoid()
    torch.testing.assert_close(eca(x), x * attn[..., None, None])


def test_forward_outputs_and_hidden_option():
    model = make_model(out_indices=(0, 2), return_hidden=True).eval()
    outs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 256, 16, 16),
                                              (1, 1024, 4, 4),
                                              (1, 32, 4, 4)]
    assert model.out_channels == [256, 512, 1024, 2048]


def test_hidden_state_follows_input_dtype_and_layout():
    model = make_model(return_hidden=True).eval()
    x = torch.randn(1, 3, 64, 64).to(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        outs = model(x)
    assert outs[-1].shape == (1, 32, 2, 2)
    assert all(o.dtype == torch.bfloat16 for o in outs)
    assert all(
        o.is_contiguous(memory_format=torch.channels_last) for o in outs)


def test_bf16_autocast_close_to_fp32(rla50):
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ref = rla50(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            outs = rla50(x)
    for out, expected in zip(outs, ref):
        assert out.dtype == torch.bfloat16
        rel = (out.float() - expected).norm() / expected.norm()
        assert rel < 0.05


def all_params_get_grads(model, x):
    """Names of trainable parameters, and of those given a non-zero grad."""
    model.train()
    sum(o.sum() for o in model(x)).backward()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    with_grad = {
        n
        for n, p in model.named_parameters()
        if p.grad is not None and p.grad.abs().sum() > 0
    }
    return trainable, with_grad


def grad_check_model(**kwargs) -> RLAResNet:
    # Train-mode BN keeps activations moderate, so tanh does not saturate.
    torch.manual_seed(0)
    model = RLAResNet(depth=50, norm_eval=False, zero_init_residual=False,
                      **kwargs)
    model.init_weights()
    return model


@pytest.mark.parametrize('out_indices', [(0, 1, 2, 3), (0, 1), (2, )])
def test_every_trainable_parameter_receives_gradient(out_indices):
    model = grad_check_model(out_indices=out_indices)
    trainable, with_grad = all_params_get_grads(model,
                                                torch.randn(2, 3, 64, 64))
    assert trainable == with_grad
    last = max(out_indices)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert f'stage_bns.{last}.{STAGE_BLOCKS_50[last] - 1}.weight' in frozen
    for s in range(last + 1, 4):
        assert f'stages.{s}.0.conv1.weight' in frozen
        assert f'conv_outs.{s}.weight' in frozen


def test_return_hidden_makes_last_update_live():
    model = grad_check_model(return_hidden=True)
    trainable, with_grad = all_params_get_grads(model,
                                                torch.randn(2, 3, 64, 64))
    assert trainable == with_grad
    assert 'stage_bns.3.2.weight' in trainable


def test_with_cp_gives_same_outputs_and_grads():
    x = torch.randn(2, 3, 32, 32)
    results = []
    for with_cp in (False, True):
        model = make_model(with_cp=with_cp, zero_init_residual=False,
                           norm_eval=False).train()
        outs = model(x)
        sum((o * o).mean() for o in outs).backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters()
                 if p.grad is not None}
        results.append((outs, grads))
    (outs_a, grads_a), (outs_b, grads_b) = results
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name],
                                   rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('frozen_stages', [0, 1, 2])
def test_frozen_stages(frozen_stages):
    model = RLAResNet(depth=50, frozen_stages=frozen_stages, norm_eval=False)
    model.train()
    frozen_modules = [model.conv1, model.bn1]
    for s in range(frozen_stages):
        frozen_modules += [model.stages[s], model.stage_bns[s],
                           model.conv_outs[s], model.recurrent_convs[s]]
    for module in frozen_modules:
        for m in module.modules():
            assert not m.training
        assert all(not p.requires_grad for p in module.parameters())
    live = [model.stages[frozen_stages], model.stage_bns[frozen_stages],
            model.conv_outs[frozen_stages]]
    for module in live:
        assert all(m.training for m in module.modules())
        assert all(p.requires_grad for p in module.parameters())


def test_norm_eval_keeps_batchnorm_in_eval_mode():
    model = RLAResNet(depth=50, norm_eval=True).train()
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    assert bns and all(not m.training for m in bns)
    model = RLAResNet(depth=50, norm_eval=False).train()
    assert all(m.training for m in model.modules()
               if isinstance(m, _BatchNorm))


def test_norm_cfg_group_norm():
    model = RLAResNet(
        depth=50, norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
    assert isinstance(model.stage_bns[0][0], nn.GroupNorm)
    assert isinstance(model.stages[1][0].bn2, nn.GroupNorm)
    model.eval()
    outs = model(torch.randn(1, 3, 32, 32))
    assert outs[-1].shape == (1, 2048, 1, 1)


def test_default_init_zeroes_last_norm_of_every_block():
    model = RLAResNet(depth=50)
    model.init_weights()
    for stage in model.stages:
        for block in stage:
            assert not block.bn3.weight.any()
            assert block.bn1.weight.eq(1).all()
    assert model.stage_bns[0][0].weight.eq(1).all()
    assert model.stage_bns[0][0].bias.eq(0).all()
    std = model.stages[1][0].conv2.weight.std().item()
    fan_out = 128 * 3 * 3
    assert abs(std - (2 / fan_out)**0.5) < 0.1 * (2 / fan_out)**0.5
    model = RLAResNet(depth=50, zero_init_residual=False)
    model.init_weights()
    assert model.stages[0][0].bn3.weight.eq(1).all()


def test_rla_parts_start_as_in_the_authors_classification_code():
    """Their from-scratch ImageNet code draws every conv from a Kaiming
    normal (fan_out, ReLU gain) and sets every norm to weight 1, bias 0:
    the shared RLA convs and the state norms start the same here."""
    model = RLAResNet(depth=50)
    model.init_weights()
    rla_channels = 32
    for s in range(4):
        for conv, fan_out in ((model.conv_outs[s], rla_channels),
                              (model.recurrent_convs[s], rla_channels * 9)):
            expected = (2 / fan_out)**0.5
            assert abs(conv.weight.std().item() - expected) < 0.1 * expected
            assert abs(conv.weight.mean().item()) < 0.1 * expected
        for norm in model.stage_bns[s]:
            assert norm.weight.eq(1).all() and norm.bias.eq(0).all()


def test_resnext_width_and_se():
    model = RLAResNet(depth=50, groups=32, base_width=4, with_se=True)
    block = model.stages[0][0]
    assert block.conv2.weight.shape == (128, 4, 3, 3)  # int(64*4/64)*32
    assert block.conv1.weight.shape == (128, 64 + 32, 1, 1)
    assert block.se.fc[0].weight.shape == (16, 256)  # the authors' layout
    assert block.se.fc[2].bias is None
    model.eval()
    assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 256, 8, 8)


def test_registry_build():
    model = MODELS.build(
        dict(type='RLAResNet', depth=50, rla_channels=16, out_indices=(3, )))
    assert isinstance(model, RLAResNet)
    assert model.stages[0][0].conv1.weight.shape[1] == 64 + 16


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth=34), 'valid depths are'),
    (dict(depth=50, rla_channels=0), 'rla_channels'),
    (dict(depth=50, base_channels=0), 'base_channels'),
    (dict(depth=50, stem_channels=32.0), 'stem_channels'),
    (dict(depth=50, eca_kernel_sizes=(5, 5, 5)),
     'one odd positive kernel size per stage'),
    (dict(depth=50, eca_kernel_sizes=(5, 5, 4, 7)), 'odd'),
    (dict(depth=50, out_indices=(0, 4)), 'out_indices'),
    (dict(depth=50, out_indices=()), 'out_indices'),
    (dict(depth=50, frozen_stages=5), 'frozen_stages'),
    (dict(depth=50, strides=(1, 2, 2)), 'strides needs one entry per stage'),
    (dict(depth=50, strides=(1, 2, 4, 1)), 'strides must be 1 or 2'),
    (dict(depth=50, dilations=(1, 1, 0, 4)), 'dilations must be positive'),
    (dict(depth=50, pretrained=dict(checkpoint='x.pth')), 'pretrained must'),
    (dict(depth=50, pretrained='x.pth', init_cfg=dict(type='Kaiming')),
     'model.pretrained=None'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RLAResNet(**kwargs)


# --- checkpoints in the released format -----------------------------------

def save_released_imagenet_file(model: RLAResNet, path) -> None:
    """Write ``model`` as the authors' ImageNet .pth.tar files are laid out."""
    state = {f'module.{k}': v for k, v in model.state_dict().items()}
    state.update({
        'module.bn2.weight': torch.ones(32),
        'module.bn2.bias': torch.zeros(32),
        'module.bn2.running_mean': torch.zeros(32),
        'module.bn2.running_var': torch.ones(32),
        'module.bn2.num_batches_tracked': torch.tensor(0),
        'module.fc.weight': torch.randn(1000, 2048 + 32),
        'module.fc.bias': torch.zeros(1000),
    })
    torch.save(
        {
            'epoch': 100,
            'arch': 'rla_resnet50',
            'state_dict': state,
            'best_acc1': torch.tensor(77.17),
            'optimizer': {
                'state': {},
                'param_groups': [{'lr': 0.1, 'momentum': 0.9,
                                  'params': [0, 1]}]
            },
        }, path)


def test_loads_released_imagenet_checkpoint(eca_rla50, tmp_path):
    path = tmp_path / 'ecanet50_rla_2215.pth.tar'
    save_released_imagenet_file(eca_rla50, path)
    # The released files need nothing beyond weights_only=True.
    torch.load(path, weights_only=True)
    model = RLAResNet(
        depth=50, eca_kernel_sizes=(5, 5, 5, 7),
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), eca_rla50(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_loads_detector_checkpoint_with_prefix(rla50, tmp_path):
    path = tmp_path / 'detector.pth'
    state = {f'backbone.{k}': v for k, v in rla50.state_dict().items()}
    state['neck.lateral_convs.0.conv.weight'] = torch.zeros(1)
    torch.save({'meta': {}, 'state_dict': state}, path)
    model = RLAResNet(depth=50, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model.init_weights()
    torch.testing.assert_close(model.state_dict(), rla50.state_dict())


def test_prefix_is_read_as_mmengine_pretrained_reads_it(rla50, tmp_path):
    path = tmp_path / 'detector.pth'
    state = {f'backbone.{k}': v for k, v in rla50.state_dict().items()}
    torch.save({'meta': {}, 'state_dict': state}, path)
    # Without its final dot, which mmengine's Pretrained adds.
    model = RLAResNet(depth=50, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone'))
    model.init_weights()
    torch.testing.assert_close(model.state_dict(), rla50.state_dict())
    # Our error where mmengine asserts.
    model = RLAResNet(depth=50, init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='neck.'))
    with pytest.raises(CheckpointMismatchError,
                       match="no keys under prefix 'neck.'"):
        model.init_weights()


# A list as mmdet configs write it: Pretrained beside other initializers.
def pretrained_in_list(path) -> list:
    return [dict(type='Kaiming', layer='Conv2d'),
            dict(type='Pretrained', checkpoint=str(path)),
            dict(type='Constant', layer='_BatchNorm', val=1)]


def test_pretrained_in_init_cfg_list_loads_strictly(rla50, tmp_path):
    path = tmp_path / 'rla.pth'
    torch.save(rla50.state_dict(), path)
    model = RLAResNet(depth=50, init_cfg=pretrained_in_list(path))
    model.init_weights()
    torch.testing.assert_close(model.state_dict(), rla50.state_dict())
    path = tmp_path / 'resnet50.pth'
    torch.save(ResNet(depth=50).state_dict(), path)
    model = RLAResNet(depth=50, init_cfg=pretrained_in_list(path))
    with pytest.raises(CheckpointMismatchError, match='plain ResNet'):
        model.init_weights()


def test_init_cfg_list_with_two_pretrained_entries_is_refused(tmp_path):
    init_cfg = pretrained_in_list(tmp_path / 'a.pth')
    init_cfg.append(dict(type='Pretrained', checkpoint='b.pth'))
    with pytest.raises(ValueError, match='2 Pretrained entries'):
        RLAResNet(depth=50, init_cfg=init_cfg)


def test_plain_resnet_checkpoint_fails_loudly(tmp_path):
    path = tmp_path / 'resnet50.pth'
    torch.save(ResNet(depth=50).state_dict(), path)
    model = RLAResNet(
        depth=50, init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    message = str(err.value)
    assert 'plain ResNet' in message
    assert 'missing keys' in message and 'stages.0.0.conv1.weight' in message
    assert 'unexpected keys' in message and 'layer1.0.conv1.weight' in message


def test_mismatched_checkpoint_lists_problems(rla50, tmp_path):
    state = copy.deepcopy(rla50.state_dict())
    del state['recurrent_convs.1.weight']
    state['extra.weight'] = torch.zeros(1)
    path = tmp_path / 'bad.pth'
    torch.save({'state_dict': state}, path)
    model = RLAResNet(depth=50, rla_channels=16,
                      init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    message = str(err.value)
    assert 'recurrent_convs.1.weight' in message
    assert 'extra.weight' in message
    assert 'shape mismatches' in message
    assert 'stages.0.0.conv1.weight: checkpoint (64, 96, 1, 1)' in message


@pytest.mark.parametrize('train', [False, True])
def test_torch_compile_fullgraph_has_no_graph_breaks(train):
    # backend='eager' runs dynamo's capture (where graph breaks would
    # raise under fullgraph=True) without inductor's slow C++ build.
    model = make_model(norm_eval=not train).train(train)
    compiled = torch.compile(model, fullgraph=True, backend='eager')
    x = torch.randn(2, 3, 64, 64)
    with torch.set_grad_enabled(train):
        expected = model(x)
        outs = compiled(x)
    for out, ref in zip(outs, expected):
        torch.testing.assert_close(out, ref)
    if train:
        sum(o.sum() for o in outs).backward()
        assert model.stages[1][0].conv1.weight.grad is not None


# --- dilated backbones and MMSegmentation's arguments ---------------------

DILATED = dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))


@pytest.mark.parametrize('size', [(64, 64), (65, 47), (33, 31)])
@pytest.mark.parametrize('contract_dilation', [False, True])
def test_dilated_shapes_match_mmseg_resnet(size, contract_dilation):
    from mmseg.models.backbones import ResNet as SegResNet
    kwargs = dict(DILATED, contract_dilation=contract_dilation)
    model = RLAResNet(depth=50, return_hidden=True, **kwargs).eval()
    resnet = SegResNet(depth=50, **kwargs)
    resnet.eval()  # mmseg's ResNet.train() returns None
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        outs = model(x)
        ref = resnet(x)
    assert [o.shape for o in outs[:4]] == [r.shape for r in ref]
    assert [o.shape[1] for o in outs[:4]] == [256, 512, 1024, 2048]
    # Output stride 8, and h follows the residual stream at every stride.
    assert outs[3].shape[-2:] == outs[1].shape[-2:] == ref[1].shape[-2:]
    assert outs[4].shape == (1, 32, *outs[3].shape[-2:])
    for stage, res_stage in zip(model.stages[2:], resnet.res_layers[2:]):
        seg_blocks = list(getattr(resnet, res_stage))
        for block, seg_block in zip(stage, seg_blocks):
            assert block.conv2.dilation == seg_block.conv2.dilation


def test_contract_dilation_halves_first_dilation_only():
    model = RLAResNet(depth=50, contract_dilation=True, **DILATED)
    assert [b.conv2.dilation[0] for b in model.stages[2]] == [1] + [2] * 5
    assert [b.conv2.dilation[0] for b in model.stages[3]] == [2, 4, 4]
    assert model.stages[1][0].conv2.dilation[0] == 1
    plain = RLAResNet(depth=50, **DILATED)
    assert [b.conv2.dilation[0] for b in plain.stages[3]] == [4, 4, 4]


def test_dilated_matches_reference_and_every_parameter_learns():
    model = make_model(**DILATED).double().eval()
    x = torch.randn(1, 3, 48, 48, dtype=torch.float64)
    with torch.no_grad():
        for out, ref in zip(model(x), reference_forward(model, x)):
            torch.testing.assert_close(out, ref, rtol=1e-9, atol=1e-9)
    model = grad_check_model(**DILATED)
    trainable, with_grad = all_params_get_grads(model,
                                                torch.randn(2, 3, 48, 48))
    assert trainable == with_grad


def test_model_level_pretrained_alone_is_a_strict_load(tmp_path):
    path = tmp_path / 'resnet50.pth'
    torch.save(ResNet(depth=50).state_dict(), path)
    model = RLAResNet(depth=50, pretrained=str(path))
    assert model.init_cfg == dict(type='Pretrained', checkpoint=str(path))
    with pytest.raises(CheckpointMismatchError, match='plain ResNet'):
        model.init_weights()


def test_backbone_init_cfg_wins_over_model_level_pretrained(rla50, tmp_path):
    path = tmp_path / 'rla.pth'
    torch.save(rla50.state_dict(), path)
    with pytest.warns(UserWarning, match='ignoring pretrained=.*resnet50_v1c'):
        model = RLAResNet(
            depth=50, pretrained='open-mmlab://resnet50_v1c',
            init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    torch.testing.assert_close(model.state_dict(), rla50.state_dict())


def test_init_cfg_list_with_pretrained_wins_over_model_level(rla50,
                                                             tmp_path):
    path = tmp_path / 'rla.pth'
    torch.save(rla50.state_dict(), path)
    with pytest.warns(UserWarning, match='ignoring pretrained=.*rla.pth'):
        model = RLAResNet(depth=50, pretrained='open-mmlab://resnet50_v1c',
                          init_cfg=pretrained_in_list(path))
    model.init_weights()
    torch.testing.assert_close(model.state_dict(), rla50.state_dict())


@pytest.mark.parametrize('norm_cfg', [
    dict(type='SyncBN', requires_grad=True),
    dict(type='GN', num_groups=32, requires_grad=True)])
def test_mmseg_norm_configs_train_with_norm_eval_false(norm_cfg):
    model = RLAResNet(depth=50, norm_cfg=norm_cfg, norm_eval=False,
                      **DILATED)
    model.init_weights()
    model.train()
    outs = model(torch.randn(2, 3, 32, 32))
    sum(o.mean() for o in outs).backward()
    assert all(torch.isfinite(o).all() for o in outs)
    assert model.stage_bns[3][1].weight.grad is not None


def test_registered_in_mmseg():
    from mmseg.registry import MODELS as SEG_MODELS
    model = SEG_MODELS.build(dict(type='RLAResNet', depth=50, **DILATED))
    assert isinstance(model, RLAResNet)
