"""RLAMobileNetV2: the authors' network in MMPretrain parts, and a drop-in
for MMDetection's MobileNetV2."""
import copy

import pytest
import torch
import torch.nn as nn
from mmdet.models.backbones import MobileNetV2
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.analysis import get_model_complexity_info
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.registry import MODELS as PRETRAIN_MODELS

import rla_mm  # noqa: F401  (registers the backbones)
from rla_mm.models.backbones import RLAMobileNetV2
from rla_mm.models.backbones.rla_mobilenet_v2 import PAPER_ECA_KERNEL_SIZES
from rla_mm.utils import CheckpointMismatchError

from .reference_rla_mobilenetv2 import ReferenceRLAMobileNetV2

# Until rla_mm.registry registers it in MMPretrain's registry as well.
if 'RLAMobileNetV2' not in PRETRAIN_MODELS.module_dict:
    PRETRAIN_MODELS.register_module(module=RLAMobileNetV2, force=True)

ECA = dict(eca_kernel_sizes=PAPER_ECA_KERNEL_SIZES)
ALL_OUTPUTS = tuple(range(8))


def randomize_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BN non-trivial affine params and running statistics."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.weight.data = torch.rand(m.weight.shape, generator=gen) + 0.5
            m.bias.data = torch.rand(m.bias.shape, generator=gen) - 0.5
            m.running_mean = torch.rand(m.running_mean.shape,
                                        generator=gen) - 0.5
            m.running_var = torch.rand(m.running_var.shape,
                                       generator=gen) + 0.5
    return model


def make_reference(eca: bool, num_classes: int = 10,
                   seed: int = 0) -> ReferenceRLAMobileNetV2:
    torch.manual_seed(seed)
    ref = ReferenceRLAMobileNetV2(eca=eca, num_classes=num_classes)
    nn.init.normal_(ref.classifier[1].bias)
    return randomize_norms(ref, seed).eval()


@pytest.fixture(scope='module')
def reference() -> ReferenceRLAMobileNetV2:
    return make_reference(eca=False)


@pytest.fixture(scope='module')
def eca_reference() -> ReferenceRLAMobileNetV2:
    return make_reference(eca=True)


def save_released(ref: nn.Module, path) -> None:
    """Write ``ref`` as the authors' .pth.tar files are laid out."""
    state = {f'module.{k}': v for k, v in ref.state_dict().items()}
    torch.save({'epoch': 400, 'arch': 'dsrla_mobilenetv2_k32',
                'state_dict': state, 'best_acc1': torch.tensor(72.38)}, path)


def backbone_keys(ref: nn.Module) -> set:
    return {k for k in ref.state_dict() if not k.startswith('classifier.')}


def pretrained(path) -> dict:
    return dict(type='Pretrained', checkpoint=str(path))


def build_classifier(path, eca: bool, num_classes: int = 10) -> nn.Module:
    """MMPretrain's ImageClassifier as the shipped configs build it."""
    backbone = dict(type='RLAMobileNetV2', out_indices=(7, ),
                    init_cfg=pretrained(path), **(ECA if eca else {}))
    return PRETRAIN_MODELS.build(
        dict(type='ImageClassifier', backbone=backbone,
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=num_classes,
                       in_channels=1280)))


# --- the authors' network ---------------------------------------------------

@pytest.mark.parametrize('eca', [False, True])
def test_logits_equal_reference_for_released_weights(reference,
                                                     eca_reference, eca,
                                                     tmp_path):
    ref = copy.deepcopy(eca_reference if eca else reference).double()
    path = tmp_path / 'dsrla_mobilenetv2_k32.pth.tar'
    save_released(ref, path)
    model = build_classifier(path, eca)
    model.init_weights()  # the backbone's strict load
    # The head is the released file's classifier.1, key for key.
    model.head.fc.load_state_dict({
        k[len('classifier.1.'):]: v
        for k, v in ref.state_dict().items() if k.startswith('classifier.1.')
    })
    model = model.double().eval()
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        logits = model(x, mode='tensor')
        expected = ref(x)
        features = RLAMobileNetV2(out_indices=ALL_OUTPUTS,
                                  **(ECA if eca else {}))
        features.load_state_dict(model.backbone.state_dict())
        outs = features.double().eval()(x)
        expected_outs = ref.features(x)
    error = (logits - expected).abs().max() / expected.abs().max()
    assert error < 1e-6, error
    assert len(outs) == 8
    for out, exp in zip(outs, expected_outs):
        assert ((out - exp).abs().max() / exp.abs().max()) < 1e-6


def test_hidden_state_is_updated_from_the_residual_branch(reference):
    # Aggregating the block output instead (as RLA-ResNet does) changes the
    # result: the blocks with a residual connection tell the two apart.
    model = RLAMobileNetV2(out_indices=(7, )).eval()
    model.load_state_dict(
        {k: v for k, v in reference.state_dict().items()
         if not k.startswith('classifier.')})
    block = model.stages[2][1]
    assert block.use_res_connect
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = reference.features(x)[-1]
        torch.testing.assert_close(model(x)[0], expected)
        original = block.forward

        def aggregate_block_output(x, h):
            out, _, h = original(x, h)
            return out, out, h

        block.forward = aggregate_block_output
        assert not torch.allclose(model(x)[0], expected)


@pytest.mark.parametrize('eca', [False, True])
def test_state_dict_is_the_released_layout(reference, eca_reference, eca):
    ref = eca_reference if eca else reference
    model = RLAMobileNetV2(**(ECA if eca else {}))
    state, ref_state = model.state_dict(), ref.state_dict()
    assert set(state) == backbone_keys(ref)
    for key, value in state.items():
        assert value.shape == ref_state[key].shape, key
    assert state['recurrent_dsconvs.0.weight'].shape == (32, 1, 3, 3)
    assert state['stages.1.0.conv.0.0.weight'].shape == (16 * 6 + 32, 1, 3,
                                                         3)
    assert state['conv2.0.weight'].shape == (1280, 320 + 32, 1, 1)
    if eca:
        assert state['stages.3.0.conv.3.conv.weight'].shape == (1, 1, 1)
        assert state['stages.4.0.conv.3.conv.weight'].shape == (1, 1, 3)


def test_one_recurrent_conv_is_shared_by_all_layers():
    model = RLAMobileNetV2()
    convs = list(model.recurrent_dsconvs)
    assert len(convs) == 5 and all(c is convs[0] for c in convs)
    assert sum(1 for n, _ in model.named_parameters()
               if n.startswith('recurrent_dsconvs')) == 1


def test_parameter_count_is_the_papers(reference):
    """3.46M in the paper: 3,624,168 / 2**20, as the authors' thop script
    prints it (the ECA paper's 3.34M MobileNetV2 is 3,504,872 / 2**20)."""
    def count(*modules):
        return sum(p.numel() for m in modules for p in m.parameters())

    fc = nn.Linear(1280, 1000)
    assert count(RLAMobileNetV2(), fc) == 3_624_168
    assert count(ReferenceRLAMobileNetV2()) == 3_624_168
    assert round(3_624_168 / 2**20, 2) == 3.46
    # ECA adds one 1D kernel per block: 10 blocks of size 1, 7 of size 3.
    assert count(RLAMobileNetV2(**ECA), fc) == 3_624_168 + 10 + 7 * 3
    assert count(MobileNetV2(), fc) == 3_504_872
    assert round(3_504_872 / 2**20, 2) == 3.34


def test_flops_at_224():
    """The paper's 351.8M counts in units of 2**20: mmengine's count of the
    MMPretrain classifier is 368,838,016 = 351.75 * 2**20 (multiply-adds of
    the convs and the fc, 2 per BN element, 1 per pooled element); the
    authors' thop script adds 1 per element of the 2x2-pooled ``h`` instead
    of the global pooling (351.82 * 2**20). Multiply-adds alone: 352.5M."""
    model = PRETRAIN_MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='RLAMobileNetV2', out_indices=(7, )),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=1000,
                       in_channels=1280))).eval()
    info = get_model_complexity_info(model, input_shape=(3, 224, 224),
                                     show_table=False, show_arch=False)
    multiply_adds = 351_225_728 + 1_280_000  # convs + fc
    norm_elements = 8_134_784
    assert info['flops'] == multiply_adds + 2 * norm_elements + 1280 * 7 * 7
    assert info['flops'] == 368_838_016
    assert round(info['flops'] / 2**20, 1) == 351.8
    assert info['params'] == 3_624_168
    thop = multiply_adds + 2 * norm_elements + 32 * (56**2 + 28**2 + 14**2 +
                                                     7**2)
    assert round(thop / 2**20, 1) == 351.8


# --- a drop-in for MMDetection's MobileNetV2 --------------------------------

@pytest.mark.parametrize('widen_factor', [0.5, 1.0, 1.5])
@pytest.mark.parametrize('size', [64, 67])
def test_output_shapes_match_mmdet(widen_factor, size):
    x = torch.randn(1, 3, size, size)
    for out_indices in ((1, 2, 4, 7), ALL_OUTPUTS, (0, ), (3, 5)):
        kwargs = dict(widen_factor=widen_factor, out_indices=out_indices)
        with torch.no_grad():
            ours, theirs = RLAMobileNetV2(**kwargs), MobileNetV2(**kwargs)
            ours.eval()
            theirs.eval()  # mmdet's train() returns None
            ours, theirs = ours(x), theirs(x)
        assert [o.shape for o in ours] == [o.shape for o in theirs]
    theirs = MobileNetV2(widen_factor=widen_factor, out_indices=ALL_OUTPUTS)
    theirs.eval()
    assert RLAMobileNetV2(widen_factor=widen_factor).out_channels == [
        o.shape[1] for o in theirs(x)
    ]


def layer_modules(model: nn.Module, i: int):
    """mmdet's layer ``i + 1`` and the RLA parts that belong to it."""
    if isinstance(model, MobileNetV2):
        return [getattr(model, f'layer{i + 1}')]
    return [model.stages[i], model.stage_bns[i], model.conv_outs[i]]


def frozen_state(model: nn.Module, frozen_stages: int):
    """Per part: (all params require grad, all modules in training mode)."""
    def state(modules):
        return (all(p.requires_grad for m in modules for p in m.parameters()),
                all(mod.training for m in modules for mod in m.modules()))

    parts = [state([model.conv1]), state([model.conv2])]
    parts += [state(layer_modules(model, i)) for i in range(7)]
    return parts


@pytest.mark.parametrize('frozen_stages', [-1, 0, 1, 3, 7])
@pytest.mark.parametrize('norm_eval', [False, True])
def test_frozen_stages_and_norm_eval_as_mmdet(frozen_stages, norm_eval):
    kwargs = dict(out_indices=ALL_OUTPUTS, frozen_stages=frozen_stages,
                  norm_eval=norm_eval)
    ours, theirs = RLAMobileNetV2(**kwargs), MobileNetV2(**kwargs)
    for mode in (True, False, True):
        ours.train(mode)
        theirs.train(mode)
        assert frozen_state(ours, frozen_stages) == frozen_state(
            theirs, frozen_stages)
        for a, b in zip(ours.conv1.modules(), theirs.conv1.modules()):
            if isinstance(a, _BatchNorm):
                assert a.training == b.training
    assert ours.recurrent_conv.weight.requires_grad == (frozen_stages < 1)
    bns = [m for m in ours.modules() if isinstance(m, _BatchNorm)]
    ours.train()
    if norm_eval:
        assert not any(m.training for m in bns)
    elif frozen_stages < 0:
        assert all(m.training for m in bns)


def all_params_get_grads(model: nn.Module, x: torch.Tensor):
    model.train()
    sum(o.float().mean() for o in model(x)).backward()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    with_grad = {n for n, p in model.named_parameters() if p.grad is not None}
    return trainable, with_grad


@pytest.mark.parametrize('kwargs', [
    dict(out_indices=(1, 2, 4, 7)),
    dict(out_indices=(0, )),
    dict(out_indices=(2, )),
    dict(out_indices=(6, )),
    dict(out_indices=(0, ), return_hidden=True),
    dict(out_indices=(3, ), return_hidden=True),
])
def test_every_trainable_parameter_receives_gradient(kwargs):
    torch.manual_seed(0)
    model = RLAMobileNetV2(**kwargs)
    model.init_weights()
    trainable, with_grad = all_params_get_grads(model,
                                                torch.randn(2, 3, 32, 32))
    assert trainable == with_grad
    out_indices = kwargs['out_indices']
    if 7 not in out_indices:
        assert 'conv2.0.weight' not in trainable
        assert 'bn2.weight' not in trainable
    if out_indices == (0, ) and not kwargs.get('return_hidden'):
        assert 'recurrent_dsconvs.0.weight' not in trainable
    else:
        assert 'recurrent_dsconvs.0.weight' in trainable


def test_return_hidden_appends_the_final_state():
    x = torch.randn(1, 3, 64, 64)
    model = RLAMobileNetV2(out_indices=(2, 7), return_hidden=True).eval()
    assert [tuple(o.shape) for o in model(x)] == [(1, 32, 8, 8),
                                                  (1, 1280, 2, 2),
                                                  (1, 32, 2, 2)]
    model = RLAMobileNetV2(out_indices=(2, ), return_hidden=True,
                           rla_channels=8).eval()
    assert [tuple(o.shape) for o in model(x)] == [(1, 32, 8, 8), (1, 8, 8, 8)]


def test_with_cp_gives_same_outputs_and_grads():
    x = torch.randn(2, 3, 32, 32)
    results = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = RLAMobileNetV2(with_cp=with_cp)
        model.init_weights()
        model.train()
        outs = model(x)
        sum((o * o).mean() for o in outs).backward()
        results.append((outs, {n: p.grad for n, p in model.named_parameters()
                               if p.grad is not None}))
    (outs_a, grads_a), (outs_b, grads_b) = results
    for a, b in zip(outs_a, outs_b):
        torch.testing.assert_close(a, b)
    assert grads_a.keys() == grads_b.keys()
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], rtol=1e-4,
                                   atol=1e-6)


def test_hidden_state_follows_input_dtype_and_layout():
    model = RLAMobileNetV2(out_indices=(2, ), return_hidden=True).eval()
    x = torch.randn(1, 3, 32, 32).to(memory_format=torch.channels_last)
    h = model(x)[-1]
    assert h.is_contiguous(memory_format=torch.channels_last)
    assert model.double()(x.double())[-1].dtype == torch.float64


def test_default_init_as_mmdet_and_the_authors():
    model = RLAMobileNetV2()
    model.init_weights()
    weight = model.conv_outs[3].weight  # Kaiming normal, fan_out
    expected = (2 / 32)**0.5
    assert abs(weight.std().item() - expected) < 0.1 * expected
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            assert m.weight.eq(1).all() and m.bias.eq(0).all()


def test_norm_cfg_group_norm():
    model = RLAMobileNetV2(
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        out_indices=(7, ))
    assert isinstance(model.stage_bns[0][0], nn.GroupNorm)
    assert isinstance(model.bn2, nn.GroupNorm)
    assert model.eval()(torch.randn(1, 3, 32, 32))[0].shape == (1, 1280, 1,
                                                                1)


def test_registered_in_mmdet_and_mmpretrain():
    for registry in (MMDET_MODELS, PRETRAIN_MODELS):
        model = registry.build(dict(type='RLAMobileNetV2', out_indices=(7, )))
        assert isinstance(model, RLAMobileNetV2)


@pytest.mark.parametrize('kwargs, match', [
    (dict(widen_factor=0), 'widen_factor must be a positive number'),
    (dict(widen_factor='1'), 'widen_factor must be a positive number'),
    (dict(rla_channels=0), 'rla_channels must be a positive integer'),
    (dict(rla_channels=32.0), 'rla_channels must be a positive integer'),
    (dict(eca_kernel_sizes=(3, 3, 3, 3)), 'one odd positive kernel size'),
    (dict(eca_kernel_sizes=(1, 1, 1, 1, 3, 3, 4)), 'one odd positive'),
    (dict(out_indices=(8, )), r'out_indices must be a non-empty subset'),
    (dict(out_indices=()), r'out_indices must be a non-empty subset'),
    (dict(frozen_stages=8), r'frozen_stages must be in \[-1, 7\]'),
    (dict(frozen_stages=-2), r'frozen_stages must be in \[-1, 7\]'),
    (dict(pretrained=dict(checkpoint='x.pth')), 'pretrained must'),
    (dict(pretrained='x.pth', init_cfg=dict(type='Kaiming')), 'keep one'),
    (dict(init_cfg=[pretrained('a.pth'), pretrained('b.pth')]),
     '2 Pretrained entries'),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RLAMobileNetV2(**kwargs)


# --- strict loading ----------------------------------------------------------

def test_released_file_loads_strictly(eca_reference, tmp_path):
    path = tmp_path / 'dsrla_mobilenetv2_k32_eca.pth.tar'
    save_released(eca_reference, path)
    torch.load(path, weights_only=True)  # nothing beyond weights_only
    for init_cfg in (pretrained(path),
                     [dict(type='Kaiming', layer='Conv2d'), pretrained(path)]):
        model = RLAMobileNetV2(**ECA, init_cfg=init_cfg)
        model.init_weights()
        state = model.state_dict()
        for key, value in eca_reference.state_dict().items():
            if not key.startswith('classifier.'):
                assert torch.equal(state[key], value), key
    model = RLAMobileNetV2(**ECA, pretrained=str(path))
    model.init_weights()
    assert torch.equal(model.conv2[0].weight, eca_reference.conv2[0].weight)


def test_classifier_checkpoint_loads_with_prefix(reference, tmp_path):
    path = tmp_path / 'mmpretrain.pth'
    state = {f'backbone.{k}': v for k, v in reference.state_dict().items()
             if not k.startswith('classifier.')}
    state['head.fc.weight'] = reference.classifier[1].weight
    torch.save({'meta': {}, 'state_dict': state}, path)
    model = RLAMobileNetV2(init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    model.init_weights()
    assert torch.equal(model.stage_bns[3][1].running_var,
                       reference.stage_bns[3][1].running_var)


def load_error(path, **kwargs) -> str:
    model = RLAMobileNetV2(init_cfg=pretrained(path), **kwargs)
    with pytest.raises(CheckpointMismatchError) as err:
        model.init_weights()
    return str(err.value)


def test_mismatching_file_raises_listing_keys(reference, eca_reference,
                                              tmp_path):
    path = tmp_path / 'eca.pth.tar'
    save_released(eca_reference, path)
    message = load_error(path)  # an ECA file into the plain model
    assert 'unexpected keys (17)' in message
    assert 'stages.0.0.conv.3.conv.weight' in message
    assert 'Check widen_factor, rla_channels and eca_kernel_sizes' in message

    state = copy.deepcopy(reference.state_dict())
    del state['stage_bns.2.1.weight']
    state['extra.weight'] = torch.zeros(1)
    path = tmp_path / 'bad.pth'
    torch.save({'state_dict': state}, path)
    message = load_error(path, rla_channels=16)
    assert 'missing keys' in message and 'stage_bns.2.1.weight' in message
    assert 'unexpected keys (1): extra.weight' in message
    assert ('recurrent_dsconvs.0.weight: checkpoint (32, 1, 3, 3) vs model '
            '(16, 1, 3, 3)') in message


def test_plain_mobilenetv2_file_fails_loudly(tmp_path):
    path = tmp_path / 'mobilenet_v2.pth'
    torch.save(MobileNetV2().state_dict(), path)
    message = load_error(path)
    assert 'plain MobileNetV2 checkpoint' in message
    assert 'layer1.0.depthwise_conv.conv.weight' in message


def test_untied_recurrent_convs_are_refused(reference, tmp_path):
    state = copy.deepcopy(reference.state_dict())
    state['recurrent_dsconvs.3.weight'] = torch.randn(32, 1, 3, 3)
    path = tmp_path / 'untied.pth'
    torch.save(state, path)
    assert 'recurrent_dsconvs.* differ' in load_error(path)


@pytest.mark.parametrize('widen_factor', [0.25, 0.35, 0.5, 0.75, 1.0, 1.3,
                                          1.4, 2.0])
def test_width_rounding_is_mmdets(widen_factor):
    """``round_channels`` keeps the plugin free of mmdet; it must round as
    mmdet's ``make_divisible`` does, at every width of the network."""
    from mmdet.models.utils import make_divisible

    from rla_mm.models.backbones.rla_mobilenet_v2 import round_channels
    for channels in (32, 16, 24, 64, 96, 160, 320, 1280, 7, 3.5):
        value = channels * widen_factor
        assert round_channels(value, 8) == make_divisible(value, 8)
