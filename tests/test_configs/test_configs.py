"""Every shipped config loads, builds, and differs from its twin only where
it should; an RLA backbone drops into unmodified mmdet and mmseg configs."""
import copy
import os.path as osp
from glob import glob
from typing import Dict

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import init_default_scope

import rla_mm  # noqa: F401  (registers RLAResNet)
from rla_lab.demo.shapes import CATEGORIES

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
SEG_DEMO_PAIR = ('demo/fpn_rla_r50_shapes_seg.py',
                 'demo/fpn_r50_shapes_seg.py')
CLS_DEMO_PAIR = ('demo/cls_rla_r50_shapes.py', 'demo/cls_r50_shapes.py')
HALF_SEG_DEMO_PAIR = ('demo/fpn_rla_r50_half_shapes_seg.py',
                      'demo/fpn_r50_half_shapes_seg.py')
# Configs whose models also run a training step and an inference.
FORWARD_CONFIGS = ('mask_rcnn_rla_r50.py', 'retinanet_eca_rla_r50.py',
                   DEMO_PAIR[0])


def baseline_of(variant: str) -> str:
    return f'r{RLA_VARIANTS[variant][0]}'


RLA_PAIRS = [(f'{det}_{variant}.py', f'{det}_{baseline_of(variant)}.py')
             for det in DETECTORS for variant in RLA_VARIANTS]
# Segmentation model -> (schedules with dataset, RLA variants).
SEGMENTORS = {
    'upernet': (('160k_ade20k', '80k_ade20k'), ('rla_r50', 'eca_rla_r50')),
    'fpn': (('160k_ade20k', ), ('rla_r50', 'eca_rla_r50')),
    'deeplabv3plus': (('d8_80k_cityscapes', ), ('rla_r50', 'eca_rla_r50')),
}
SEG_PAIRS = [(f'{seg}_{variant}_{sched}.py',
              f'{seg}_{baseline_of(variant)}_{sched}.py')
             for seg, (schedules, variants) in SEGMENTORS.items()
             for sched in schedules for variant in variants]
SEG_PAIRS.append(('upernet_rla_r101_160k_ade20k.py',
                  'upernet_r101_160k_ade20k.py'))
# Every key of a ResNet backbone config that the RLA twin must share.
SHARED_BACKBONE_KEYS = ('depth', 'frozen_stages', 'norm_cfg', 'norm_eval',
                        'out_indices', 'strides', 'dilations',
                        'contract_dilation', 'num_stages', 'style',
                        'base_channels', 'stem_channels')
# Runnable configs; configs/_base_/ holds the snippets they inherit and
# configs/deploy/ MMDeploy's deploy configs (tests/test_deploy/).
SHIPPED = sorted(
    name for name in (
        osp.relpath(path, CONFIG_DIR)
        for path in glob(osp.join(CONFIG_DIR, '**', '*.py'), recursive=True))
    if not name.startswith(('_base_', 'deploy')))
# The ImageNet classifiers and their plain twins (MMPretrain's models).
IMAGENET_PAIRS = [(f'imagenet/{rla}_{recipe}.py',
                   f'imagenet/{plain}_{recipe}.py')
                  for rla, plain, recipe in [
                      ('rla_r50', 'r50', '8xb32_in1k'),
                      ('eca_rla_r50', 'r50', '8xb32_in1k'),
                      ('rla_r101', 'r101', '8xb32_in1k'),
                      ('eca_rla_r101', 'r101', '8xb32_in1k'),
                      ('rla_r152', 'r152', '8xb32_in1k'),
                      ('eca_rla_r152', 'r152', '8xb32_in1k'),
                      ('rla_x50_32x4d', 'x50_32x4d', '8xb32_in1k'),
                      ('rla_x101_32x4d', 'x101_32x4d', '8xb32_in1k'),
                      ('rla_mobilenetv2', 'mobilenetv2', '1xb96_in1k'),
                      ('eca_rla_mobilenetv2', 'mobilenetv2', '1xb96_in1k'),
                  ]]

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
    cfg = load(name)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = ROOT_MODELS.build(copy.deepcopy(cfg.model))
    if name in FORWARD_CONFIGS:
        _models[name] = model
    return model


def without_backbone(cfg: Config) -> dict:
    """The config minus the backbone and the snippet variable naming it."""
    cfg_dict = copy.deepcopy(cfg.to_dict())
    del cfg_dict['model']['backbone']
    cfg_dict.pop('rla_backbone', None)
    cfg_dict.pop('resnet_backbone', None)
    return cfg_dict


def test_every_pair_is_shipped():
    expected = {name for pair in RLA_PAIRS + SEG_PAIRS
                for name in pair} | set(DEMO_PAIR) | set(SEG_DEMO_PAIR) | set(
                    CLS_DEMO_PAIR) | set(HALF_SEG_DEMO_PAIR)
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


@pytest.mark.parametrize('rla, baseline',
                         RLA_PAIRS + SEG_PAIRS +
                         [DEMO_PAIR, SEG_DEMO_PAIR, HALF_SEG_DEMO_PAIR])
def test_twins_differ_only_in_backbone(rla, baseline):
    assert without_backbone(load(rla)) == without_backbone(load(baseline))
    assert load(rla).model.backbone.type == 'RLAResNet'
    assert load(baseline).model.backbone.type == 'ResNet'
    rla_backbone, base_backbone = (load(rla).model.backbone,
                                   load(baseline).model.backbone)
    for key in SHARED_BACKBONE_KEYS:
        assert rla_backbone.get(key) == base_backbone.get(key), key
    assert set(rla_backbone) - set(base_backbone) <= {
        'rla_channels', 'eca_kernel_sizes'}


@pytest.mark.parametrize('rla, plain', IMAGENET_PAIRS)
def test_imagenet_twins_differ_only_in_the_model(rla, plain):
    """The authors' recipe for both: everything but ``model`` is equal, and
    the recipe is the authors' (120 epochs, lr / 10 every 30; the light
    models 400 epochs, lr x 0.98 per epoch)."""
    rla_cfg, plain_cfg = load(rla).to_dict(), load(plain).to_dict()
    assert rla_cfg.pop('model') != plain_cfg.pop('model')
    assert rla_cfg == plain_cfg
    assert load(rla).default_scope == 'mmpretrain'
    assert rla_cfg['auto_scale_lr']['base_batch_size'] in (256, 96)
    if 'mobilenet' in rla:
        assert rla_cfg['train_cfg']['max_epochs'] == 400
        assert rla_cfg['optim_wrapper']['optimizer']['lr'] == 0.045
    else:
        assert rla_cfg['train_cfg']['max_epochs'] == 120
        assert rla_cfg['param_scheduler']['milestones'] == [30, 60, 90]
        optimizer = rla_cfg['optim_wrapper']['optimizer']
        assert {k: optimizer[k] for k in ('type', 'lr', 'momentum',
                                          'weight_decay')} == dict(
            type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
    assert [t['type'] for t in rla_cfg['test_dataloader']['dataset'][
        'pipeline']] == ['LoadImageFromFile', 'ResizeEdge', 'CenterCrop',
                         'PackInputs']


def test_classification_twins_differ_in_backbone_and_head_input():
    """The classification demo's RLA twin is the authors' classifier: its
    backbone also returns h, RLAClsNeck pools it beside the features, and
    the same head reads both."""
    rla, baseline = (load(name) for name in CLS_DEMO_PAIR)
    rla_dict, baseline_dict = without_backbone(rla), without_backbone(baseline)
    assert baseline_dict['model'].pop('neck') == dict(
        type='GlobalAveragePooling')
    assert rla_dict['model'].pop('neck') == dict(type='RLAClsNeck',
                                                 rla_channels=32)
    assert rla_dict['model']['head'].pop('in_channels') == 2048 + 32
    assert baseline_dict['model']['head'].pop('in_channels') == 2048
    rla_dict.pop('rla_channels')
    assert rla_dict == baseline_dict
    assert rla.model.backbone.type == 'RLAResNet'
    assert rla.model.backbone.return_hidden
    assert baseline.model.backbone.type == 'ResNet'
    for key in SHARED_BACKBONE_KEYS:
        assert rla.model.backbone.get(key) == baseline.model.backbone.get(
            key), key
    assert set(rla.model.backbone) - set(baseline.model.backbone) == {
        'rla_channels', 'return_hidden'}


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


@pytest.mark.parametrize('rla, baseline', SEG_PAIRS)
def test_segmentation_settings(rla, baseline):
    cfg, base = load(rla), load(baseline)
    assert cfg.default_scope == 'mmseg'
    variant = next(v for v in sorted(RLA_VARIANTS, key=len, reverse=True)
                   if f'_{v}_' in rla)
    depth, eca_kernel_sizes, checkpoint = RLA_VARIANTS[variant]
    backbone = cfg.model.backbone
    assert (backbone.depth, backbone.get('eca_kernel_sizes')) == (
        depth, eca_kernel_sizes)
    assert backbone.init_cfg == dict(
        type='Pretrained', checkpoint=f'checkpoints/{checkpoint}')
    assert base.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=f'torchvision://resnet{depth}')
    # mmseg's recipe otherwise: a model-level ResNetV1c file would be
    # passed to both backbones.
    assert cfg.model.pretrained is None and base.model.pretrained is None
    assert backbone.norm_cfg == dict(type='SyncBN', requires_grad=True)
    assert backbone.norm_eval is False and backbone.contract_dilation
    if 'deeplabv3plus' in rla:
        assert backbone.strides == (1, 2, 1, 1)
        assert backbone.dilations == (1, 1, 2, 4)
        assert cfg.train_cfg.max_iters == 80000
        assert cfg.train_dataloader.dataset.type == 'CityscapesDataset'
    else:
        assert backbone.dilations == (1, 1, 1, 1)
        assert cfg.train_cfg.max_iters == (160000 if '160k' in rla
                                           else 80000)
        assert cfg.train_dataloader.dataset.type == 'ADE20KDataset'
    assert cfg.val_evaluator.type == 'IoUMetric'


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


def check_train_step(model: torch.nn.Module, inputs: dict) -> None:
    """A finite loss, and a gradient for every trainable backbone weight."""
    model.train()
    data = model.data_preprocessor(inputs, True)
    total, _ = model.parse_losses(model(**data, mode='loss'))
    assert torch.isfinite(total)
    total.backward()
    assert all(p.grad is not None for p in model.backbone.parameters()
               if p.requires_grad)


@pytest.mark.parametrize('name', FORWARD_CONFIGS)
def test_forward(name):
    """A training step and an inference on a tiny image."""
    model = build(name)
    with_mask = 'mask' in name
    num_classes = (len(CATEGORIES) if 'shapes' in name else 80)
    check_train_step(model, packed_inputs(num_classes, with_mask))
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
        "model = dict(backbone=dict(type='RLAResNet', init_cfg=None))\n")
    cfg = Config.fromfile(str(config))
    # The README's swap: mmdet's ResNet settings carry over.
    assert cfg.model.backbone.frozen_stages == 1 and cfg.model.backbone.style
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


def segmentation_inputs(size: int = 64, num_classes: int = 19,
                        batch: int = 2) -> dict:
    """A batch of random images and label maps (2: ASPP's image-pool BN
    needs more than one value per channel)."""
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    samples = []
    for _ in range(batch):
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, size, size)))
        sample.set_metainfo(dict(img_shape=(size, size),
                                 ori_shape=(size, size),
                                 pad_shape=(size, size)))
        samples.append(sample)
    return dict(
        inputs=[torch.randint(0, 255, (3, size, size)).float()
                for _ in range(batch)],
        data_samples=samples)


def run_segmentor(cfg: Config) -> None:
    """A training step and an inference of a segmentor on a tiny image."""
    init_default_scope('mmseg')
    cfg.model.data_preprocessor.size = (64, 64)
    torch.manual_seed(0)
    model = ROOT_MODELS.build(cfg.model)
    model.init_weights()
    check_train_step(model, segmentation_inputs())
    model.eval()
    data = model.data_preprocessor(segmentation_inputs(), False)
    with torch.no_grad():
        result = model(**data, mode='predict')[0]
    assert result.pred_sem_seg.data.shape == (1, 64, 64)


def test_dilated_segmentor_trains_and_predicts():
    cfg = copy.deepcopy(load('deeplabv3plus_rla_r50_d8_80k_cityscapes.py'))
    norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN needs a group
    cfg.model.backbone.update(norm_cfg=norm_cfg, init_cfg=None)
    cfg.model.decode_head.norm_cfg = norm_cfg
    cfg.model.auxiliary_head.norm_cfg = norm_cfg
    run_segmentor(cfg)


def test_backbone_swap_into_unmodified_mmseg_config(tmp_path, rla_file):
    """mmseg's stock UPerNet hands its model-level ResNetV1c ``pretrained``
    to the backbone: the RLA weights named in init_cfg win, with a
    warning."""
    config = tmp_path / 'upernet_rla_swap.py'
    config.write_text(
        "_base_ = 'mmseg::upernet/upernet_r50_4xb4-160k_ade20k-512x512.py'\n"
        "custom_imports = dict(imports=['rla_mm'], "
        'allow_failed_imports=False)\n'
        "norm_cfg = dict(type='BN', requires_grad=True)\n"
        "model = dict(backbone=dict(type='RLAResNet', init_cfg=dict("
        f"type='Pretrained', checkpoint='{rla_file}')),\n"
        '    decode_head=dict(norm_cfg=norm_cfg),\n'
        '    auxiliary_head=dict(norm_cfg=norm_cfg))\n')
    cfg = Config.fromfile(str(config))
    assert cfg.model.pretrained == 'open-mmlab://resnet50_v1c'
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    with pytest.warns(UserWarning, match='ignoring pretrained'):
        run_segmentor(cfg)


@pytest.fixture
def rla_file(tmp_path) -> str:
    """An RLA-ResNet-50 state dict as a file."""
    from rla_mm.models import RLAResNet
    path = tmp_path / 'rla50.pth'
    torch.save(RLAResNet(depth=50).state_dict(), path)
    return str(path)
