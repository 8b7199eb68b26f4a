"""The shipped configs as users run them, shrunk through ``--cfg-options``.

Each shipped config family is trained and tested with the repository's own
file, hooks included; only ``--cfg-options`` change it: its data roots point
at a tiny dataset written here in the layout the config's dataset class
reads (COCO, ADE20K, Cityscapes, the demo's shapes), images, iterations
and widths shrink (the checks are plumbing), and the CPU gets BN for SyncBN
and the gloo backend.
"""
import json
from dataclasses import replace
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

from mmdet.datasets import CocoDataset
from PIL import Image

from rla_lab.demo.shapes import ShapesConfig, write_dataset
from rla_lab.demo.shapes_cls import CLS_SHAPES, write_cls_dataset

from .tool_helpers import _OBJECTS, _render

# COCO's 80 classes, numbered from 1: the shipped configs keep them, and
# CocoDataset looks its classes up by name. The boxes are persons and
# bicycles.
COCO_CATEGORIES = tuple(enumerate(CocoDataset.METAINFO['classes'], start=1))


def _coco_split(root: Path, split: str) -> None:
    images, annotations = [], []
    (root / f'{split}2017').mkdir(parents=True)
    for image_id, objects in enumerate(_OBJECTS, start=1):
        pixels, _ = _render(objects)
        name = f'{image_id:012d}.jpg'
        Image.fromarray(pixels).save(root / f'{split}2017' / name)
        height, width = pixels.shape[:2]
        images.append(
            dict(id=image_id, file_name=name, width=width, height=height))
        for label, x, y, w, h in objects:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=COCO_CATEGORIES[label][0],
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=0,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
    categories = [dict(id=i, name=name) for i, name in COCO_CATEGORIES]
    (root / 'annotations').mkdir(exist_ok=True)
    (root / 'annotations' / f'instances_{split}2017.json').write_text(
        json.dumps(
            dict(images=images, annotations=annotations,
                 categories=categories)))


def write_coco(root: Path) -> Path:
    """4 images per split in COCO 2017's layout under ``root``."""
    for split in ('train', 'val'):
        _coco_split(root, split)
    return root


def write_ade20k(root: Path) -> Path:
    """4 images per split in ADEChallengeData2016's layout (label 0 is
    "other", removed by ``reduce_zero_label``)."""
    for split in ('training', 'validation'):
        for folder in ('images', 'annotations'):
            (root / folder / split).mkdir(parents=True)
        for index, objects in enumerate(_OBJECTS, start=1):
            pixels, labels = _render(objects)
            name = f'ADE_{split[:5]}_{index:08d}'
            Image.fromarray(pixels).save(
                root / 'images' / split / f'{name}.jpg')
            Image.fromarray(labels).save(
                root / 'annotations' / split / f'{name}.png')
    return root


def write_cityscapes(root: Path) -> Path:
    """4 images per split in Cityscapes' layout, with train-id label maps
    (0 road, 1 sidewalk, 255 ignored)."""
    for split in ('train', 'val'):
        images = root / 'leftImg8bit' / split / 'aachen'
        maps = root / 'gtFine' / split / 'aachen'
        images.mkdir(parents=True)
        maps.mkdir(parents=True)
        for index, objects in enumerate(_OBJECTS, start=1):
            pixels, labels = _render(objects)
            train_ids = labels.copy()
            train_ids[labels == 0] = 255
            train_ids[labels > 0] -= 1
            stem = f'aachen_{index:06d}_000019'
            Image.fromarray(pixels).save(images / f'{stem}_leftImg8bit.png')
            Image.fromarray(train_ids).save(
                maps / f'{stem}_gtFine_labelTrainIds.png')
    return root


def write_demo_shapes(root: Path) -> Path:
    """The demo's shapes dataset, 4 train and 2 val images of 64 pixels."""
    write_dataset(
        str(root), ShapesConfig(num_train=4, num_val=2, image_size=64))
    return root


def write_imagenet(root: Path) -> Path:
    """4 images per split in MMPretrain's ImageNet layout (images listed
    with their labels in ``meta/<split>.txt``), labelled by their first
    object: 0 and 1 of ImageNet's 1000 classes."""
    (root / 'meta').mkdir(parents=True)
    for split in ('train', 'val'):
        (root / split).mkdir()
        lines = []
        for index, objects in enumerate(_OBJECTS, start=1):
            pixels, _ = _render(objects)
            name = f'{split}_{index:08d}.JPEG'
            Image.fromarray(pixels).save(root / split / name, format='JPEG')
            lines.append(f'{name} {objects[0][0]}')
        (root / 'meta' / f'{split}.txt').write_text('\n'.join(lines) + '\n')
    return root


def write_demo_shapes_cls(root: Path) -> Path:
    """The classification demo's class folders, 10 train and 10 val images
    (one of each class)."""
    write_cls_dataset(str(root),
                      replace(CLS_SHAPES, num_train=10, num_val=10))
    return root


def _loaders(**options: object) -> List[str]:
    """``options`` for the train, val and test dataloaders alike."""
    return [
        f'{loader}_dataloader.{key}={value}'
        for loader in ('train', 'val', 'test')
        for key, value in options.items()
    ]


def _sync_bn_to_bn(*modules: str) -> List[str]:
    return [f'model.{module}.norm_cfg.type=BN' for module in modules]


FIXED_SEED = 'randomness.seed=0'

# A ResNet-50 layout at 1/8 width: stages of 32, 64, 128 and 256 channels.
_BACKBONE = ['model.backbone.base_channels=8', 'model.backbone.init_cfg=None']
_STAGES = '[32,64,128,256]'
_NARROW_NECK = [f'model.neck.in_channels={_STAGES}']
_FPN = _NARROW_NECK + ['model.neck.out_channels=16']
# The detectors' pipelines (mmdet's and the demo's) at 64 pixels.
_DET_IMAGES = [
    'train_dataloader.dataset.pipeline.2.scale=(64,64)',
    'val_dataloader.dataset.pipeline.1.scale=(64,64)',
    'test_dataloader.dataset.pipeline.1.scale=(64,64)',
]
# 4 iterations, a checkpoint and a validation every 2.
_ITERS = [
    'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1'
]

_DETECTOR = {
    'faster_rcnn': [
        'model.rpn_head.in_channels=16', 'model.rpn_head.feat_channels=16',
        'model.roi_head.bbox_roi_extractor.out_channels=16',
        'model.roi_head.bbox_head.in_channels=16',
        'model.roi_head.bbox_head.fc_out_channels=32',
        # An untrained model scores below the threshold: keep every
        # detection, so that the evaluation has some to score.
        'model.test_cfg.rcnn.score_thr=0.0'
    ],
    'retinanet':
    ['model.bbox_head.in_channels=16', 'model.bbox_head.feat_channels=16',
     'model.test_cfg.score_thr=0.0'],
}
_DETECTOR['mask_rcnn'] = _DETECTOR['faster_rcnn'] + [
    'model.roi_head.mask_roi_extractor.out_channels=16',
    'model.roi_head.mask_head.in_channels=16',
    'model.roi_head.mask_head.conv_out_channels=16'
]

_SEGMENTOR = {
    'upernet': [
        f'model.decode_head.in_channels={_STAGES}',
        'model.decode_head.channels=16',
        'model.auxiliary_head.in_channels=128',
        'model.auxiliary_head.channels=16',
    ] + _sync_bn_to_bn('backbone', 'decode_head', 'auxiliary_head'),
    'fpn': _FPN + [
        'model.decode_head.in_channels=[16,16,16,16]',
        'model.decode_head.channels=16',
    ] + _sync_bn_to_bn('backbone', 'decode_head'),
    'deeplabv3plus': [
        'model.decode_head.in_channels=256', 'model.decode_head.channels=16',
        'model.decode_head.c1_in_channels=32',
        'model.decode_head.c1_channels=8',
        'model.auxiliary_head.in_channels=128',
        'model.auxiliary_head.channels=16',
    ] + _sync_bn_to_bn('backbone', 'decode_head', 'auxiliary_head'),
}


class Dataset(NamedTuple):
    """A tiny dataset's writer and, for COCO-format ones, the val
    annotations its evaluators read (relative to the root)."""
    write: Callable[[Path], Path]
    val_ann_file: Optional[str] = None


DATASETS: Dict[str, Dataset] = {
    'coco': Dataset(write_coco, 'annotations/instances_val2017.json'),
    'ade20k': Dataset(write_ade20k),
    'cityscapes': Dataset(write_cityscapes),
    'shapes': Dataset(write_demo_shapes, 'annotations/instances_val.json'),
    'shapes_seg': Dataset(write_demo_shapes),
    'shapes_cls': Dataset(write_demo_shapes_cls),
    'imagenet': Dataset(write_imagenet),
}


class Shipped(NamedTuple):
    """A shipped config, the tiny dataset it reads and what shrinks it."""
    config: str
    dataset: Optional[str]  # a key of DATASETS; None: no files
    options: List[str]  # without the data root (see ``options_for``)
    metric: str  # a key of the test metrics


def _coco(family: str) -> List[str]:
    return _BACKBONE + _FPN + _DETECTOR[family] + _DET_IMAGES + [
        'train_cfg.max_epochs=2', 'default_hooks.logger.interval=1'
    ] + _loaders(batch_size=1, num_workers=0, persistent_workers=False)


def _seg(family: str) -> List[str]:
    return _BACKBONE + _SEGMENTOR[family] + [
        'model.data_preprocessor.size=(32,32)',
        'train_dataloader.dataset.pipeline.2.scale=(64,32)',
        'train_dataloader.dataset.pipeline.3.crop_size=(32,32)',
        'val_dataloader.dataset.pipeline.1.scale=(64,64)',
        'test_dataloader.dataset.pipeline.1.scale=(64,64)',
        # UPerNet's pooling branch normalises one value per channel and
        # image: BN needs two images per process.
        'train_dataloader.batch_size=2',
    ] + _ITERS + _loaders(num_workers=0, persistent_workers=False)


SHIPPED: Dict[str, Shipped] = {
    'faster_rcnn':
    Shipped('configs/faster_rcnn_rla_r50.py', 'coco', _coco('faster_rcnn'),
            'coco/bbox_mAP'),
    'retinanet':
    Shipped('configs/retinanet_rla_r50.py', 'coco', _coco('retinanet'),
            'coco/bbox_mAP'),
    'mask_rcnn':
    # The run that a killed one must repeat: 4 epochs (a training killed
    # after the first has 3 left) and a fixed seed (so that two runs start
    # alike).
    Shipped('configs/mask_rcnn_rla_r50.py', 'coco',
            _coco('mask_rcnn') + ['train_cfg.max_epochs=4', FIXED_SEED],
            'coco/segm_mAP'),
    'upernet':
    Shipped('configs/upernet_rla_r50_80k_ade20k.py', 'ade20k',
            _seg('upernet'), 'mIoU'),
    'fpn':
    Shipped('configs/fpn_rla_r50_160k_ade20k.py', 'ade20k', _seg('fpn'),
            'mIoU'),
    'deeplabv3plus':
    Shipped('configs/deeplabv3plus_rla_r50_d8_80k_cityscapes.py',
            'cityscapes', _seg('deeplabv3plus'), 'mIoU'),
    'demo_mask_rcnn':
    Shipped('configs/demo/mask_rcnn_rla_r50_shapes.py', 'shapes',
            _BACKBONE + _NARROW_NECK + _DET_IMAGES + _ITERS +
            _loaders(batch_size=2) + ['model.test_cfg.rcnn.score_thr=0.0'],
            'coco/segm_mAP'),
    'demo_seg':
    Shipped('configs/demo/fpn_rla_r50_shapes_seg.py', 'shapes_seg',
            _BACKBONE + _NARROW_NECK + _ITERS + _loaders(batch_size=2),
            'mIoU'),
    'demo_cls':
    # The head reads 8 * 32 + 32 features.
    Shipped('configs/demo/cls_rla_r50_shapes.py', 'shapes_cls',
            _BACKBONE + ['model.head.in_channels=288'] + _ITERS +
            _loaders(batch_size=4), 'accuracy/top1'),
}


# The ImageNet classifiers at 32 pixels: RandomResizedCrop to train, resize
# and centre crop to test; the head reads 8 * 32 + 32 features.
_IMAGENET = _BACKBONE + [
    'model.head.in_channels=288',
    'train_dataloader.dataset.pipeline.1.scale=32',
    'val_dataloader.dataset.pipeline.1.scale=36',
    'val_dataloader.dataset.pipeline.2.crop_size=32',
    'test_dataloader.dataset.pipeline.1.scale=36',
    'test_dataloader.dataset.pipeline.2.crop_size=32',
    'train_cfg.max_epochs=2', 'default_hooks.logger.interval=1'
] + _loaders(batch_size=2, num_workers=0, persistent_workers=False)

SHIPPED['imagenet'] = Shipped('configs/imagenet/rla_r50_8xb32_in1k.py',
                              'imagenet', _IMAGENET, 'accuracy/top1')


def options_for(shipped: Shipped, data_root: Optional[Path]) -> List[str]:
    """The ``--cfg-options`` of ``shipped`` reading ``data_root``."""
    options = list(shipped.options)
    if shipped.dataset is None:
        return options
    root = f'{data_root.as_posix()}/'
    options += _loaders(**{'dataset.data_root': root})
    val_ann_file = DATASETS[shipped.dataset].val_ann_file
    if val_ann_file is not None:
        options += [
            f'{evaluator}_evaluator.ann_file={root}{val_ann_file}'
            for evaluator in ('val', 'test')
        ]
    return options
