"""The ImageNet configs of RLA-MobileNetV2: the authors' light recipe
(train_light.py), models that build and run, twins that differ in the
model only."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import rla_mm  # noqa: F401  (registers the backbones)
from rla_mm.models.backbones import RLAMobileNetV2

# Until rla_mm.registry registers it in MMPretrain's registry as well.
if 'RLAMobileNetV2' not in MODELS.module_dict:
    MODELS.register_module(module=RLAMobileNetV2, force=True)

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))),
                      'configs', 'imagenet')
PLAIN = 'mobilenetv2_1xb96_in1k.py'
RLA = ('rla_mobilenetv2_1xb96_in1k.py', 'eca_rla_mobilenetv2_1xb96_in1k.py')


def load(name: str) -> Config:
    return Config.fromfile(osp.join(CONFIG_DIR, name))


@pytest.mark.parametrize('name', RLA + (PLAIN, ))
def test_builds_and_classifies(name):
    cfg = load(name)
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports == dict(imports=['rla_mm'],
                                      allow_failed_imports=False)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model)).eval()
    assert type(model.backbone).__name__ == cfg.model.backbone.type
    with torch.no_grad():
        logits = model(torch.randn(2, 3, 64, 64), mode='tensor')
    assert logits.shape == (2, 1000)


@pytest.mark.parametrize('name', RLA)
def test_twins_differ_in_the_model_only(name):
    rla, plain = load(name).to_dict(), load(PLAIN).to_dict()
    rla_model, plain_model = rla.pop('model'), plain.pop('model')
    assert rla == plain
    assert plain_model['backbone'] == dict(type='MobileNetV2',
                                           widen_factor=1.0)
    assert rla_model['backbone']['type'] == 'RLAMobileNetV2'
    assert rla_model['backbone']['out_indices'] == (7, )
    for part in ('type', 'neck', 'head', 'data_preprocessor'):
        assert rla_model.get(part) == plain_model.get(part), part
    eca = rla_model['backbone'].get('eca_kernel_sizes')
    assert eca == ((1, 1, 1, 1, 3, 3, 3) if name.startswith('eca') else None)


def test_authors_light_recipe():
    cfg = load(PLAIN)
    optimizer = dict(cfg.optim_wrapper.optimizer)
    optimizer.pop('_scope_', None)
    assert optimizer == dict(type='SGD', lr=0.045, momentum=0.9,
                             weight_decay=4e-5)
    assert cfg.param_scheduler == dict(type='ExponentialLR', gamma=0.98,
                                       by_epoch=True)
    assert cfg.train_cfg.max_epochs == 400
    assert cfg.train_dataloader.batch_size == 96
    assert cfg.auto_scale_lr.base_batch_size == 96
    assert cfg.train_dataloader.dataset.data_root == 'data/imagenet'
    assert cfg.train_dataloader.dataset.type == 'ImageNet'
    train = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert train == ['LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip',
                     'PackInputs']
    test = cfg.val_dataloader.dataset.pipeline
    assert [t['type'] for t in test] == ['LoadImageFromFile', 'ResizeEdge',
                                         'CenterCrop', 'PackInputs']
    assert test[1]['scale'] == 256 and test[2]['crop_size'] == 224
    assert cfg.model.head.loss == dict(type='CrossEntropyLoss',
                                       loss_weight=1.0)
    assert 'train_cfg' not in cfg.model  # no mixup or cutmix
