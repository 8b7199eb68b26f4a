"""Shared initial weights of a pair (``run_pairs.py --couple-init``): the
key map, the coupling of two state dicts, the demo pairs' twins starting
alike without either initialization changing in distribution, and the hook
that starts training from the shared weights."""
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, Tuple

import pytest
import torch
from mmengine.config import Config
from torch import Tensor, nn

from rla_lab.paper.coupling import (couple_state_dicts, coupled_initial_states,
                                    initial_state_dict, rla_key)
from rla_lab.utils.codebases import build_in_scope, config_scope, read_config
from rla_lab.utils.runs import REPO_ROOT
from rla_mm.engine import SharedStartHook

DEMO = Path(REPO_ROOT) / 'configs' / 'demo'
PAIRS = {
    'cls': ('cls_r50_shapes.py', 'cls_rla_r50_shapes.py'),
    'seg': ('fpn_r50_shapes_seg.py', 'fpn_rla_r50_shapes_seg.py'),
    'seg-half': ('fpn_r50_half_shapes_seg.py',
                 'fpn_rla_r50_half_shapes_seg.py'),
}


@pytest.mark.parametrize('key, expected', [
    ('backbone.layer1.0.conv1.weight', 'backbone.stages.0.0.conv1.weight'),
    ('backbone.layer4.2.bn3.bias', 'backbone.stages.3.2.bn3.bias'),
    ('backbone.layer12.0.conv2.weight', 'backbone.stages.11.0.conv2.weight'),
    ('backbone.conv1.weight', 'backbone.conv1.weight'),
    # Only the backbone's stages are renamed.
    ('neck.layer1.weight', 'neck.layer1.weight'),
    ('head.fc.weight', 'head.fc.weight'),
])
def test_rla_key(key: str, expected: str):
    assert rla_key(key) == expected


def test_couple_state_dicts_shares_the_baseline_tensors():
    baseline = {
        'backbone.layer1.0.conv1.weight': torch.randn(4, 6, 1, 1),
        'backbone.layer1.0.bn1.weight': torch.randn(4),
        'head.weight': torch.randn(3, 4),
        'cls_head.fc.weight': torch.randn(3, 4),
    }
    rla = {
        'backbone.stages.0.0.conv1.weight': torch.randn(4, 6 + 2, 1, 1),
        'backbone.stages.0.0.bn1.weight': torch.randn(4),
        'backbone.recurrent_convs.0.weight': torch.randn(2, 2, 3, 3),
        'head.weight': torch.randn(3, 4),
        'cls_head.fc.weight': torch.randn(3, 4 + 2),
    }
    rla_before = {k: v.clone() for k, v in rla.items()}
    coupled = couple_state_dicts(baseline, rla)

    assert set(coupled) == set(rla)
    conv1 = coupled['backbone.stages.0.0.conv1.weight']
    # conv1 reads cat([x, h]): the x channels are the baseline's, h's own.
    assert torch.equal(conv1[:, :6],
                       baseline['backbone.layer1.0.conv1.weight'])
    assert torch.equal(conv1[:, 6:],
                       rla['backbone.stages.0.0.conv1.weight'][:, 6:])
    assert torch.equal(coupled['backbone.stages.0.0.bn1.weight'],
                       baseline['backbone.layer1.0.bn1.weight'])
    assert torch.equal(coupled['head.weight'], baseline['head.weight'])
    # So does a classifier's fc, which reads the pooled h after x.
    fc = coupled['cls_head.fc.weight']
    assert torch.equal(fc[:, :4], baseline['cls_head.fc.weight'])
    assert torch.equal(fc[:, 4:], rla['cls_head.fc.weight'][:, 4:])
    assert torch.equal(coupled['backbone.recurrent_convs.0.weight'],
                       rla['backbone.recurrent_convs.0.weight'])
    # The inputs are left as they were.
    assert all(torch.equal(rla[k], v) for k, v in rla_before.items())
    coupled['head.weight'].zero_()
    assert baseline['head.weight'].abs().sum() > 0


@pytest.mark.parametrize('baseline, rla, message', [
    ({'head.weight': torch.zeros(3)}, {'head.bias': torch.zeros(3)},
     'no counterpart head.weight'),
    ({'head.weight': torch.zeros(3, 4)}, {'head.weight': torch.zeros(4, 4)},
     'is (3, 4) but'),
    ({'head.weight': torch.zeros(3, 4)},
     {'head.weight': torch.zeros(3, 5, 1, 1)}, 'is (3, 4) but'),
    # More input channels is only the h channels, not fewer.
    ({'backbone.conv1.weight': torch.zeros(4, 6, 1, 1)},
     {'backbone.conv1.weight': torch.zeros(4, 5, 1, 1)}, 'is (4, 6, 1, 1)'),
])
def test_couple_state_dicts_refuses_models_that_are_not_twins(
        baseline: Dict[str, Tensor], rla: Dict[str, Tensor], message: str):
    with pytest.raises(ValueError, match='not twins') as error:
        couple_state_dicts(baseline, rla)
    assert message in str(error.value)


def demo_configs(task: str) -> Tuple[Config, Config]:
    return tuple(read_config(str(DEMO / name)) for name in PAIRS[task])


@pytest.fixture(scope='module', params=sorted(PAIRS))
def demo_pair(request) -> Tuple[str, Tuple[Config, Config]]:
    return request.param, demo_configs(request.param)


def test_initial_state_depends_on_the_seed_only(demo_pair):
    _, (cfg, _) = demo_pair
    torch.manual_seed(123)
    first = initial_state_dict(cfg, 5)
    after = torch.rand(3)
    torch.manual_seed(123)
    again = initial_state_dict(demo_configs(demo_pair[0])[0], 5)
    other = initial_state_dict(cfg, 6)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first['backbone.conv1.weight'],
                           other['backbone.conv1.weight'])
    # The caller's RNG is untouched.
    torch.manual_seed(123)
    assert torch.equal(torch.rand(3), after)


def test_the_demo_twins_share_all_but_the_rla_parts(demo_pair):
    _, (baseline_cfg, rla_cfg) = demo_pair
    states = coupled_initial_states(baseline_cfg, rla_cfg, 0)
    own = initial_state_dict(rla_cfg, 0)
    shared = {rla_key(k) for k in states['baseline']}
    for key, value in states['baseline'].items():
        coupled = states['rla'][rla_key(key)]
        assert torch.equal(coupled[:, :value.shape[1]]
                           if coupled.shape != value.shape else coupled,
                           value), key
    rla_parts = [k for k in own if k not in shared]
    assert any(k.startswith('backbone.recurrent_convs.') for k in rla_parts)
    for key in rla_parts:
        assert torch.equal(states['rla'][key], own[key]), key


def test_sharing_keeps_each_twins_initial_distribution(demo_pair):
    """Each shared tensor is drawn from the same distribution in both
    twins: the coupled RLA twin's start is as likely as its own. Compared
    on two independent seeds: constants equal, random tensors of the same
    spread (std within 10% where there are 4096 values or more)."""
    _, (baseline_cfg, rla_cfg) = demo_pair
    baseline = initial_state_dict(baseline_cfg, 1)
    own = initial_state_dict(rla_cfg, 2)
    compared = 0
    for key, value in baseline.items():
        theirs = own[rla_key(key)]
        if not value.is_floating_point():
            continue
        if value.unique().numel() == 1:
            assert torch.equal(theirs, torch.full_like(theirs,
                                                       value.flatten()[0]))
        elif value.numel() >= 4096:
            ratio = (theirs.std() / value.std()).item()
            assert 0.9 < ratio < 1.1, (key, ratio)
            compared += 1
    assert compared > 40


def test_the_classification_twins_start_as_one_function():
    """With the last norm of every block at zero (``zero_init_residual``),
    the hidden state changes no feature at the start: it reaches the logits
    only through the fc's weights on the pooled ``h``, the RLA twin's own
    draw. Coupled, and with those weights zeroed, the twins compute the
    same logits; each with its own draw, they do not."""
    baseline_cfg, rla_cfg = demo_configs('cls')
    states = coupled_initial_states(baseline_cfg, rla_cfg, 0)
    own = initial_state_dict(rla_cfg, 0)
    features = states['baseline']['head.fc.weight'].shape[1]
    for state in (states['rla'], own):
        assert state['head.fc.weight'].shape[1] == features + 32
        state['head.fc.weight'][:, features:] = 0
    images = torch.randn(4, 3, 32, 32)
    logits = {}
    for name, cfg, state in (('baseline', baseline_cfg, states['baseline']),
                             ('rla', rla_cfg, states['rla']),
                             ('own', rla_cfg, own)):
        model = build_in_scope(cfg.model, config_scope(cfg))
        model.load_state_dict(state)
        with torch.no_grad():
            logits[name] = model(images, mode='tensor')
    torch.testing.assert_close(logits['rla'], logits['baseline'])
    assert (logits['own'] - logits['baseline']).abs().max() > 1e-2


def hook_runner(model: nn.Module, iteration: int) -> SimpleNamespace:
    return SimpleNamespace(model=model, iter=iteration)


def test_shared_start_hook_loads_the_weights_and_reseeds(tmp_path: Path):
    model = nn.Linear(3, 2)
    start = {k: torch.randn_like(v) for k, v in model.state_dict().items()}
    path = tmp_path / 'init.pth'
    torch.save(start, path)
    hook = SharedStartHook(str(path), seed=7)

    torch.manual_seed(0)
    hook.before_train(hook_runner(model, 0))
    drawn = torch.rand(3)
    torch.manual_seed(7)
    assert torch.equal(drawn, torch.rand(3))
    assert all(torch.equal(model.state_dict()[k], v)
               for k, v in start.items())

    # A resumed run keeps its weights and RNG states.
    resumed = nn.Linear(3, 2)
    weights = resumed.weight.clone()
    torch.manual_seed(0)
    hook.before_train(hook_runner(resumed, 10))
    after_hook = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after_hook, torch.rand(3))
    assert torch.equal(resumed.weight, weights)


def test_shared_start_hook_refuses_weights_of_another_model(tmp_path: Path):
    path = tmp_path / 'init.pth'
    torch.save(nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(RuntimeError, match='do not fit this model'):
        SharedStartHook(str(path), seed=0).before_train(
            hook_runner(nn.Linear(4, 2), 0))
