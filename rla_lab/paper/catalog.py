"""What the kit pairs: model families, backbones and the metrics it reads.

A family is a set of configs in ``configs/`` that share everything but the
backbone, named ``<stem with the backbone filled in>.py``; each RLA backbone
is compared with the plain ResNet of its depth. The numbers of these models
live in ``configs/metafile.yml`` (see :mod:`.metafile`), not here.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

DETECTION = 'detection'
SEGMENTATION = 'segmentation'
CLASSIFICATION = 'classification'


@dataclass(frozen=True)
class Metric:
    """A metric of a test run and how it is shown.

    Attributes:
        key (str): Key in the metrics ``tools/test.py`` logs, e.g.
            ``'coco/bbox_mAP'`` (mmdet's ``CocoMetric``) or ``'mIoU'``
            (mmseg's ``IoUMetric``).
        name (str): Column header, and the metric's name in
            ``configs/metafile.yml``, e.g. ``'box AP'``.
        scale (float): Factor to percent: ``CocoMetric`` logs fractions,
            ``IoUMetric`` and MMPretrain's ``Accuracy`` percent.
        decimals (int): Digits after the point when shown.
    """
    key: str
    name: str
    scale: float = 1.0
    decimals: int = 2


DETECTION_METRICS: Tuple[Metric, ...] = (
    Metric('coco/bbox_mAP', 'box AP', 100, 1),
    Metric('coco/bbox_mAP_50', 'AP50', 100, 1),
    Metric('coco/bbox_mAP_75', 'AP75', 100, 1),
    Metric('coco/bbox_mAP_s', 'APs', 100, 1),
    Metric('coco/bbox_mAP_m', 'APm', 100, 1),
    Metric('coco/bbox_mAP_l', 'APl', 100, 1),
    Metric('coco/segm_mAP', 'mask AP', 100, 1),
)
SEGMENTATION_METRICS: Tuple[Metric, ...] = (
    Metric('mIoU', 'mIoU'),
    Metric('mAcc', 'mAcc'),
    Metric('aAcc', 'aAcc'),
)
CLASSIFICATION_METRICS: Tuple[Metric, ...] = (
    Metric('accuracy/top1', 'top-1'),
    Metric('accuracy/top5', 'top-5'),
)
TASK_METRICS: Dict[str, Tuple[Metric, ...]] = {
    DETECTION: DETECTION_METRICS,
    SEGMENTATION: SEGMENTATION_METRICS,
    CLASSIFICATION: CLASSIFICATION_METRICS,
}


@dataclass(frozen=True)
class Family:
    """Configs that differ only in their backbone.

    Attributes:
        key (str): The family's name on the command line, e.g. ``'upernet'``.
        title (str): Its name in tables, e.g. ``'UPerNet, ADE20K, 160k'``.
        task (str): ``DETECTION``, ``SEGMENTATION`` or ``CLASSIFICATION``.
        stem (str): Config path relative to ``configs/``, without ``.py``,
            with a ``{backbone}`` field, e.g.
            ``'upernet_{backbone}_160k_ade20k'``.
        gpus (int): GPUs of the configs' batch (mmdet's 8 x 2 images,
            mmseg's 4 x 4 or 4 x 2).
    """
    key: str
    title: str
    task: str
    stem: str
    gpus: int

    @property
    def metrics(self) -> Tuple[Metric, ...]:
        """The metrics its tests log, in table order."""
        return TASK_METRICS[self.task]

    def config_name(self, backbone: str) -> str:
        """The config's path relative to ``configs/``, without ``.py``."""
        return self.stem.format(backbone=backbone)


@dataclass(frozen=True)
class Backbone:
    """A backbone of the configs.

    Attributes:
        name (str): Its name in tables, e.g. ``'RLA-R-50'``.
        baseline (str, optional): Key of the plain network an RLA backbone
            is compared with; None for a plain one.
    """
    name: str
    baseline: Optional[str] = None


# In table order: each baseline before its RLA twins.
BACKBONES: Dict[str, Backbone] = {
    'r50': Backbone('R-50'),
    'rla_r50': Backbone('RLA-R-50', 'r50'),
    'eca_rla_r50': Backbone('ECA-RLA-R-50', 'r50'),
    'r101': Backbone('R-101'),
    'rla_r101': Backbone('RLA-R-101', 'r101'),
    'eca_rla_r101': Backbone('ECA-RLA-R-101', 'r101'),
    'r152': Backbone('R-152'),
    'rla_r152': Backbone('RLA-R-152', 'r152'),
    'eca_rla_r152': Backbone('ECA-RLA-R-152', 'r152'),
    'x50_32x4d': Backbone('X-50-32x4d'),
    'rla_x50_32x4d': Backbone('RLA-X-50-32x4d', 'x50_32x4d'),
    'x101_32x4d': Backbone('X-101-32x4d'),
    'rla_x101_32x4d': Backbone('RLA-X-101-32x4d', 'x101_32x4d'),
    'mobilenetv2': Backbone('MobileNetV2'),
    'rla_mobilenetv2': Backbone('RLA-MobileNetV2', 'mobilenetv2'),
    'eca_rla_mobilenetv2': Backbone('ECA-RLA-MobileNetV2', 'mobilenetv2'),
}
RLA_BACKBONES: List[str] = [
    key for key, backbone in BACKBONES.items() if backbone.baseline
]


def _families(*families: Family) -> Dict[str, Family]:
    return {family.key: family for family in families}


DETECTORS: Dict[str, Family] = _families(
    Family('faster_rcnn', 'Faster R-CNN', DETECTION,
           'faster_rcnn_{backbone}', 8),
    Family('retinanet', 'RetinaNet', DETECTION, 'retinanet_{backbone}', 8),
    Family('mask_rcnn', 'Mask R-CNN', DETECTION, 'mask_rcnn_{backbone}', 8),
)
SEGMENTORS: Dict[str, Family] = _families(
    Family('upernet', 'UPerNet, ADE20K, 160k', SEGMENTATION,
           'upernet_{backbone}_160k_ade20k', 4),
    Family('upernet_80k', 'UPerNet, ADE20K, 80k', SEGMENTATION,
           'upernet_{backbone}_80k_ade20k', 4),
    Family('fpn', 'Semantic FPN, ADE20K, 160k', SEGMENTATION,
           'fpn_{backbone}_160k_ade20k', 4),
    Family('deeplabv3plus', 'DeepLabV3+ (D8), Cityscapes, 80k', SEGMENTATION,
           'deeplabv3plus_{backbone}_d8_80k_cityscapes', 4),
)
# ImageNet classifiers (MMPretrain, the authors' recipe): pretraining, run
# only when asked for (``--classifiers``).
CLASSIFIERS: Dict[str, Family] = _families(
    Family('imagenet', 'ImageNet-1k, 120 epochs', CLASSIFICATION,
           'imagenet/{backbone}_8xb32_in1k', 8),
    Family('imagenet_light', 'ImageNet-1k, light models, 400 epochs',
           CLASSIFICATION, 'imagenet/{backbone}_1xb96_in1k', 1),
)
# The pairs `--demo` runs, trained from scratch on the shapes dataset: the
# demo configs as the kit runs them, in configs/demo/pairs/, each naming the
# dataset it reads and the kit writes (its shapes_dataset; the seg, seg-half,
# seg-4x and det pairs share one with 1000 val images). The segmentation pair
# is the default: a run takes about half the detector's time, and its paired
# deltas spread least relative to their mean (ten seeds: +0.57 mIoU, sd
# 0.99; the classification pair's +0.56 top-1 had sd 2.16;
# docs/paired_demo.md).
DEMOS: Dict[str, Family] = {
    'seg': Family('fpn_demo', 'Semantic FPN, shapes demo', SEGMENTATION,
                  'demo/pairs/fpn_{backbone}_shapes_seg', 1),
    'seg-half': Family('fpn_half_demo', 'Semantic FPN, half width, shapes '
                       'demo', SEGMENTATION,
                       'demo/pairs/fpn_{backbone}_half_shapes_seg', 1),
    'seg-4x': Family('fpn_demo_4x', 'Semantic FPN, shapes demo, 2800 '
                     'iterations', SEGMENTATION,
                     'demo/pairs/fpn_{backbone}_shapes_seg_4x', 1),
    'seg-train1600': Family('fpn_demo_train1600', 'Semantic FPN, shapes '
                            'demo, 1600 train images', SEGMENTATION,
                            'demo/pairs/fpn_{backbone}_shapes_seg_train1600',
                            1),
    'det': Family('mask_rcnn_demo', 'Mask R-CNN, shapes demo', DETECTION,
                  'demo/pairs/mask_rcnn_{backbone}_shapes', 1),
    'cls': Family('cls_demo', 'Classification, shapes demo', CLASSIFICATION,
                  'demo/pairs/cls_{backbone}_shapes', 1),
}
DEMO_BACKBONE = 'rla_r50'
