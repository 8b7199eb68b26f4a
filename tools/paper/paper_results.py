"""Published COCO numbers that our own runs are compared with.

Two sources, kept apart because they answer different questions:

* ``PAPER_RLA``: the RLA detectors of "Recurrence along Depth: Deep
  Convolutional Neural Networks with Recurrent Layer Aggregation" (Zhao et
  al., NeurIPS 2021), COCO val2017, 1x schedule, trained with mmdet 2.x. The
  paper reports box AP, AP50 and AP75 for these models.
* ``MMDET_BASELINES``: the plain-ResNet 1x models of MMDetection's own model
  zoo (the ``metafile.yml`` of mmdet 3.3.0's ``faster_rcnn``, ``retinanet``
  and ``mask_rcnn`` configs; the same weights as mmdet 2.x's zoo). The
  paper's deltas may rest on baselines from older mmdet versions, so a delta
  of the paper's RLA over one of these is not the paper's delta.

All values are AP in percent, keyed by the suffix of mmdet 3.x's
``CocoMetric`` keys (``coco/bbox_mAP`` -> ``'bbox_mAP'``).
"""
from typing import Dict, Tuple

# (detector, backbone) -> metric -> AP in percent.
Results = Dict[Tuple[str, str], Dict[str, float]]

DETECTORS: Dict[str, str] = {
    'faster_rcnn': 'Faster R-CNN',
    'retinanet': 'RetinaNet',
    'mask_rcnn': 'Mask R-CNN',
}
# RLA backbone -> the plain ResNet it is compared with.
RLA_BASELINES: Dict[str, str] = {
    'rla_r50': 'r50',
    'eca_rla_r50': 'r50',
    'rla_r101': 'r101',
    'eca_rla_r101': 'r101',
}
BACKBONE_NAMES: Dict[str, str] = {
    'r50': 'R-50',
    'r101': 'R-101',
    'rla_r50': 'RLA-R-50',
    'eca_rla_r50': 'ECA-RLA-R-50',
    'rla_r101': 'RLA-R-101',
    'eca_rla_r101': 'ECA-RLA-R-101',
}


def _box(ap: float, ap50: float, ap75: float) -> Dict[str, float]:
    return dict(bbox_mAP=ap, bbox_mAP_50=ap50, bbox_mAP_75=ap75)


PAPER_RLA: Results = {
    ('faster_rcnn', 'rla_r50'): _box(38.8, 59.6, 42.0),
    ('faster_rcnn', 'eca_rla_r50'): _box(39.8, 61.2, 43.2),
    ('faster_rcnn', 'rla_r101'): _box(41.2, 61.8, 44.9),
    ('faster_rcnn', 'eca_rla_r101'): _box(42.1, 63.3, 46.1),
    ('retinanet', 'rla_r50'): _box(37.9, 57.0, 40.8),
    ('retinanet', 'eca_rla_r50'): _box(39.0, 58.7, 41.7),
    ('retinanet', 'rla_r101'): _box(40.3, 59.8, 43.5),
    ('retinanet', 'eca_rla_r101'): _box(41.5, 61.6, 44.4),
    ('mask_rcnn', 'rla_r50'): _box(39.5, 60.1, 43.3),
    ('mask_rcnn', 'eca_rla_r50'): _box(40.6, 61.8, 44.0),
    ('mask_rcnn', 'rla_r101'): _box(41.8, 62.3, 46.2),
    ('mask_rcnn', 'eca_rla_r101'): _box(42.9, 63.6, 46.9),
}

MMDET_BASELINES: Results = {
    ('faster_rcnn', 'r50'): dict(bbox_mAP=37.4),
    ('faster_rcnn', 'r101'): dict(bbox_mAP=39.4),
    ('retinanet', 'r50'): dict(bbox_mAP=36.5),
    ('retinanet', 'r101'): dict(bbox_mAP=38.5),
    ('mask_rcnn', 'r50'): dict(bbox_mAP=38.2, segm_mAP=34.7),
    ('mask_rcnn', 'r101'): dict(bbox_mAP=40.0, segm_mAP=36.1),
}
# Names of MMDET_BASELINES' models in mmdet's metafiles
# (``configs/<detector>/metafile.yml``), where the tests check the values.
MMDET_MODEL_NAMES: Dict[str, str] = {
    'faster_rcnn': 'faster-rcnn_{backbone}_fpn_1x_coco',
    'retinanet': 'retinanet_{backbone}_fpn_1x_coco',
    'mask_rcnn': 'mask-rcnn_{backbone}_fpn_1x_coco',
}
