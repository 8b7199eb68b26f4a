"""Every shipped config loads, builds, and differs from its twin only where
it should; an RLA backbone drops into an unmodified mmdet config."""
import copy
import os.path as osp
from glob import glob
from typing import Dict

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config

import rla_mm  # noqa: F401  (registers RLAResNet)
from rla_mm.datasets.shapes import CATEGORIES

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))),
                      'configs')
DETECTORS = ('mask_rcnn', 'faster_rcnn', 'retinanet')
# Variant -> (depth, eca_kernel_sizes, released checkpoint file).
RLA_VARIANTS = {
    'rla_r50': (50, None, 'resnet50_rla_2283.pth.tar'),
    'eca_rla_r50': (50, (5, 5, 5, 7), 'ecanet50_rla_2215.pth.tar'),
    'rla_r101': (101, None, 'resnet101_rla_2148.pth.tar'),
    'eca_rla_r101': (101, (5, 5, 5, 7), 'ecanet101_rla_2100.pth.tar'),
}
DEMO_PAIR = ('demo/mask_rcnn_rla_r50_shapes.py',
             'demo/mask_rcnn_r50_shapes.py')
# Configs whose models also run a training step and an inference.
FORWARD_CONFIGS = ('mask_rcnn_rla_r50.py', 'retinanet_eca_rla_r50.py',
                   DEMO_PAIR[0])


def baseline_of(variant: str) -> str:
    return f'r{RLA_VARIANTS[variant][0]}'


RLA_PAIRS = [(f'{det}_{variant}.py', f'{det}_{baseline_of(variant)}.py')
             for det in DETECTORS for variant in RLA_VARIANTS]
# Runnable configs; configs/_base_/ holds the snippets they inherit.
SHIPPED = sorted(
    name for name in (
        osp.relpath(path, CONFIG_DIR)
        for path in glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True))
    if not name.startswith('_base_'))

_configs: Dict[str, Config] = {}
_models: Dict[str, torch.nn.Module] = {}


def load(name: str) -> Config:
    """Each config is parsed once, with the default checkpoint folder."""
    if name not in _configs:
        with pytest.MonkeyPatch.context() as patch:
            patch.delenv('RLA_CHECKPOINT_DIR', raising=False)
            _configs[name] = Config.fromfile(osp.join(CONFIG_DIR, name))
    return _configs[name]


def build(name: str) -> torch.nn.Module:
    """Build a config's model, weights not loaded.

    Only the models of ``FORWARD_CONFIGS`` are kept for the later tests; 20
    detectors held at once would take gigabytes.
    """
    if name in _models:
        return _models[name]
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(load(name).model))
    if name in FORWARD_CONFIGS:
        _models[name] = model
    return model


def without_backbone(cfg: Config) -> dict:
    """The config minus the backbone and the snippet variable naming it."""
    cfg_dict = copy.deepcopy(cfg.to_dict())
    del cfg_dict['model']['backbone']
    cfg_dict.pop('rla_backbone', None)
    return cfg_dict


def test_every_pair_is_shipped():
    expected = {name for pair in RLA_PAIRS for name in pair} | set(DEMO_PAIR)
    assert expected <= set(SHIPPED)


@pytest.mark.parametrize('name', SHIPPED)
def test_config_loads_and_builds(name):
    cfg = load(name)
    assert cfg.custom_imports == dict(
        imports=['rla_mm'], allow_failed_imports=False)
    model = build(name)
    assert type(model).__name__ == cfg.model.type
    backbone = cfg.model.backbone
    assert type(model.backbone).__name__ == backbone.type


@pytest.mark.parametrize('rla, baseline', RLA_PAIRS + [DEMO_PAIR])
def test_twins_differ_only_in_backbone(rla, baseline):
    assert without_backbone(load(rla)) == without_backbone(load(baseline))
    assert load(rla).model.backbone.type == 'RLAResNet'
    assert load(baseline).model.backbone.type == 'ResNet'
    rla_backbone, base_backbone = (load(rla).model.backbone,
                                   load(baseline).model.backbone)
    for key in ('depth', 'frozen_stages', 'norm_cfg', 'norm_eval',
                'out_indices'):
        assert rla_backbone[key] == base_backbone[key], key


@pytest.mark.parametrize('det', DETECTORS)
@pytest.mark.parametrize('variant', list(RLA_VARIANTS))
def test_coco_1x_settings(det, variant):
    cfg = load(f'{det}_{variant}.py')
    depth, eca_kernel_sizes, checkpoint = RLA_VARIANTS[variant]
    backbone = cfg.model.backbone
    assert backbone.depth == depth
    assert backbone.get('eca_kernel_sizes') == eca_kernel_sizes
    assert backbone.frozen_stages == 1 and backbone.norm_eval
    assert backbone.norm_cfg == dict(type='BN', requires_grad=True)
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=f'checkpoints/{checkpoint}')
    baseline = load(f'{det}_{baseline_of(variant)}.py').model.backbone
    assert baseline.init_cfg.checkpoint == f'torchvision://resnet{depth}'

    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.optimizer.lr == (
        0.01 if det == 'retinanet' else 0.02)
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.param_scheduler[-1].milestones == [8, 11]
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=16)
    assert cfg.train_dataloader.dataset.type == 'CocoDataset'


def test_checkpoint_dir_from_env_and_cfg_options(monkeypatch, tmp_path):
    monkeypatch.setenv('RLA_CHECKPOINT_DIR', str(tmp_path))
    cfg = Config.fromfile(osp.join(CONFIG_DIR, 'mask_rcnn_eca_rla_r101.py'))
    assert cfg.model.backbone.init_cfg.checkpoint == str(
        tmp_path / 'ecanet101_rla_2100.pth.tar')
    cfg.merge_from_dict({'model.backbone.init_cfg.checkpoint': 'my.pth'})
    assert cfg.model.backbone.init_cfg.checkpoint == 'my.pth'


def test_demo_settings():
    cfg = load(DEMO_PAIR[0])
    assert cfg.metainfo['classes'] == CATEGORIES
    assert cfg.model.roi_head.bbox_head.num_classes == len(CATEGORIES)
    assert cfg.model.roi_head.mask_head.num_classes == len(CATEGORIES)
    # From scratch: no weight file, nothing frozen, BN statistics learnt.
    backbone = cfg.model.backbone
    assert backbone.init_cfg is None
    assert backbone.frozen_stages == -1 and not backbone.norm_eval
    assert cfg.test_evaluator.metric == ['bbox', 'segm']
    assert cfg.test_evaluator.ann_file == (
        cfg.data_root + 'annotations/instances_val.json')


def packed_inputs(num_classes: int, with_mask: bool, size: int = 96) -> dict:
    return demo_mm_inputs(
        batch_size=1, image_shapes=[(3, size, size)], num_items=[2],
        num_classes=num_classes, with_mask=with_mask)


@pytest.mark.parametrize('name', FORWARD_CONFIGS)
def test_forward(name):
    """A training step and an inference on a tiny image."""
    model = build(name)
    with_mask = 'mask' in name
    num_classes = (len(CATEGORIES) if 'shapes' in name else 80)
    data = model.data_preprocessor(packed_inputs(num_classes, with_mask),
                                   True)
    model.train()
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is not None for p in model.backbone.parameters()
               if p.requires_grad)

    model.eval()
    data = model.data_preprocessor(packed_inputs(num_classes, with_mask),
                                   False)
    with torch.no_grad():
        result = model(**data, mode='predict')[0]
    assert 'bboxes' in result.pred_instances
    assert ('masks' in result.pred_instances) == with_mask


def test_backbone_swap_into_unmodified_mmdet_config(tmp_path):
    config = tmp_path / 'faster_rcnn_rla_swap.py'
    config.write_text(
        "_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'\n"
        "custom_imports = dict(imports=['rla_mm'], "
        'allow_failed_imports=False)\n'
        "model = dict(backbone=dict(_delete_=True, type='RLAResNet', "
        'depth=50, frozen_stages=1))\n')
    cfg = Config.fromfile(str(config))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    data = model.data_preprocessor(packed_inputs(80, False), False)
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
        result = model(**data, mode='predict')[0]
    assert [f.shape[1] for f in feats] == [256] * 5
    assert len(result.pred_instances.bboxes) <= cfg.model.test_cfg.rcnn[
        'max_per_img']
