"""The authors' ImageNet classifier from MMPretrain parts: RLAResNet with
its final hidden state, RLAClsNeck and the stock LinearClsHead.

The logits are checked against ``reference_logits``, written here from the
authors' definition and reading the weights by the released files' key
names, so the key mapping of the loader is checked with the arithmetic.
"""
import copy

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import rla_mm  # noqa: F401  (registers RLAResNet and RLAClsNeck)
from rla_mm.utils.checkpoint import (CheckpointMismatchError, load_classifier,
                                     to_classifier_layout)

from .reference_rla import reference_logits
from .test_rla_resnet import randomize_norms

IMAGENET_RLA_R50 = 'configs/imagenet/rla_r50_8xb32_in1k.py'


def build_classifier(num_classes: int = 10, base_channels: int = 8,
                     rla_channels: int = 4, **backbone) -> torch.nn.Module:
    """The shipped RLA-R50 ImageNet model, narrowed for speed."""
    model = copy.deepcopy(Config.fromfile(IMAGENET_RLA_R50).model)
    model.backbone.update(base_channels=base_channels,
                          rla_channels=rla_channels, **backbone)
    model.neck.rla_channels = rla_channels
    model.head.update(num_classes=num_classes,
                      in_channels=base_channels * 32 + rla_channels)
    torch.manual_seed(0)
    classifier = MODELS.build(model)
    classifier.init_weights()
    return randomize_norms(classifier).eval()


def released_state(classifier: torch.nn.Module) -> dict:
    """``classifier``'s weights keyed as the authors' files, ``module.``
    prefix included (their DataParallel)."""
    return {'module.' + key.split('.', 1)[1]: value
            for key, value in classifier.state_dict().items()}


def save_released(classifier: torch.nn.Module, path) -> str:
    """Write ``classifier`` as a released ``.pth.tar`` training snapshot."""
    torch.save({'epoch': 120, 'arch': 'rla_resnet50',
                'state_dict': released_state(classifier),
                'best_acc1': torch.tensor(77.17),
                'optimizer': {'state': {}, 'param_groups': []}}, path)
    return str(path)


@pytest.mark.parametrize('backbone', [
    dict(),
    dict(eca_kernel_sizes=(5, 5, 5, 7)),
    dict(groups=4, base_width=4, with_se=True, base_channels=16),
], ids=['rla', 'eca', 'resnext-se'])
def test_logits_equal_the_authors_network(backbone):
    classifier = build_classifier(**backbone).double()
    authors = {k[len('module.'):]: v
               for k, v in released_state(classifier).items()}
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        logits = classifier(x, mode='tensor')
        expected = reference_logits(authors, x)
    assert logits.shape == (2, 10)
    error = (logits - expected).abs().max() / expected.abs().max()
    assert error < 1e-6


def test_released_file_loads_whole_and_strictly(tmp_path):
    source = build_classifier()
    path = save_released(source, tmp_path / 'resnet50_rla_2283.pth.tar')
    torch.load(path, weights_only=True)  # no unsafe unpickling needed
    target = build_classifier()
    torch.manual_seed(1)
    for p in target.parameters():
        p.data.normal_()
    load_classifier(target, path)
    torch.testing.assert_close(target.state_dict(), source.state_dict(),
                               rtol=0, atol=0)
    # The neck's bn2 and the head's fc came from the file's bn2 and fc.
    state = released_state(source)
    torch.testing.assert_close(target.neck.bn2.running_var,
                               state['module.bn2.running_var'])
    torch.testing.assert_close(target.head.fc.weight, state['module.fc.weight'])


def test_mmpretrain_checkpoint_loads_as_it_is(tmp_path):
    source = build_classifier()
    path = tmp_path / 'epoch_120.pth'
    torch.save({'meta': {}, 'state_dict': source.state_dict()}, path)
    target = build_classifier()
    for p in target.parameters():
        p.data.zero_()
    load_classifier(target, str(path))
    torch.testing.assert_close(target.state_dict(), source.state_dict())


def test_layout_mapping_is_by_part():
    released = {'conv1.weight': 1, 'bn2.bias': 2, 'fc.weight': 3,
                'stages.0.0.se.fc.0.weight': 4}
    target = {'backbone.conv1.weight': 0, 'neck.bn2.bias': 0,
              'head.fc.weight': 0, 'backbone.stages.0.0.se.fc.0.weight': 0}
    assert to_classifier_layout(released, target) == {
        'backbone.conv1.weight': 1, 'neck.bn2.bias': 2, 'head.fc.weight': 3,
        'backbone.stages.0.0.se.fc.0.weight': 4}
    # RLA-MobileNetV2: bn2 in the backbone, the fc as classifier.1.
    released = {'bn2.bias': 2, 'classifier.1.weight': 3}
    target = {'backbone.bn2.bias': 0, 'head.fc.weight': 0}
    assert to_classifier_layout(released, target) == {
        'backbone.bn2.bias': 2, 'head.fc.weight': 3}


def test_another_variant_lists_the_keys(tmp_path):
    path = save_released(build_classifier(depth=101), tmp_path / 'r101.tar')
    with pytest.raises(CheckpointMismatchError) as error:
        load_classifier(build_classifier(), path)
    message = str(error.value)
    assert 'unexpected keys' in message
    assert 'backbone.stages.2.6.conv1.weight' in message
    assert 'depth' in message


def test_detector_checkpoint_names_the_prefix(tmp_path):
    state = {f'backbone.{k}': v for k, v in
             build_classifier().backbone.state_dict().items()}
    state['rpn_head.rpn_conv.weight'] = torch.zeros(1)
    state['neck.lateral_convs.0.conv.weight'] = torch.zeros(1)
    path = tmp_path / 'faster_rcnn.pth'
    torch.save({'meta': {}, 'state_dict': state}, path)
    with pytest.raises(CheckpointMismatchError) as error:
        load_classifier(build_classifier(), str(path))
    message = str(error.value)
    assert 'rpn_head' in message and "prefix='backbone.'" in message


def test_other_num_classes_names_the_keys_to_drop(tmp_path):
    path = save_released(build_classifier(num_classes=1000),
                         tmp_path / 'resnet50_rla_2283.pth.tar')
    with pytest.raises(CheckpointMismatchError) as error:
        load_classifier(build_classifier(num_classes=10), path)
    message = str(error.value)
    assert "head has 1000 classes, the model 10" in message
    assert 'head.fc.weight, head.fc.bias' in message
    assert 'model.backbone.init_cfg' in message


def test_neck_needs_the_hidden_state():
    neck = MODELS.build(dict(type='RLAClsNeck', rla_channels=32))
    with pytest.raises(ValueError, match='return_hidden=True'):
        neck((torch.rand(1, 2048, 2, 2), ))
    with pytest.raises(ValueError, match='positive integer'):
        MODELS.build(dict(type='RLAClsNeck', rla_channels=0))


def test_three_line_swap_into_a_stock_mmpretrain_config(tmp_path):
    """README's swap: a stock MMPretrain ResNet-50 config, RLA backbone."""
    config = tmp_path / 'swap.py'
    config.write_text(
        "_base_ = 'mmpretrain::resnet/resnet50_8xb32_in1k.py'\n"
        "custom_imports = dict(imports=['rla_mm'], "
        "allow_failed_imports=False)\n"
        "model = dict(backbone=dict(type='RLAResNet'))\n")
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'RLAResNet'
    # The stock classifier trains its norms: nothing frozen by the swap.
    model.train()
    assert all(m.training for m in model.backbone.modules())
    with torch.no_grad():
        scores = model(torch.rand(1, 3, 64, 64), mode='tensor')
    assert scores.shape == (1, 1000)


def test_released_mobilenetv2_file_loads_whole_and_strictly(tmp_path):
    """RLA-MobileNetV2's files: bn2 is the backbone's, the fc is
    ``classifier.1`` (``classifier.0`` is a dropout)."""
    model = copy.deepcopy(Config.fromfile(
        'configs/imagenet/rla_mobilenetv2_1xb96_in1k.py').model)
    model.backbone.widen_factor = 0.5
    torch.manual_seed(0)
    source = randomize_norms(MODELS.build(model))
    released = {}
    for key, value in source.state_dict().items():
        part, rest = key.split('.', 1)
        released['module.' + ('classifier.1.' + rest[len('fc.'):]
                              if part == 'head' else rest)] = value
    assert 'module.bn2.weight' in released
    path = tmp_path / 'dsrla_mobilenetv2_k32.pth.tar'
    torch.save({'state_dict': released}, path)
    target = MODELS.build(model)
    load_classifier(target, str(path))
    torch.testing.assert_close(target.state_dict(), source.state_dict(),
                               rtol=0, atol=0)
