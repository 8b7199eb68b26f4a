"""Parameters and FLOPs of detectors, their backbones, or ImageNet twins.

FLOPs are counted by mmengine's ``FlopAnalyzer``, which traces the model
with ``torch.jit`` and so also sees functional calls such as the
``F.conv2d`` on slices of a weight that RLA-ResNet's fast paths use (module
hooks, as in ``ptflops``-style counters, would miss them). Like fvcore, it
counts one multiply-add as one FLOP, i.e. the numbers are MACs. Both decimal
(10^6, 10^9) and binary (2^20, 2^30) units are printed, the latter being the
units of the RLA-Net paper's tables.

Modes:

* ``detector`` (default, 800x1280): backbone, neck and heads of the built
  detector on one image, without post-processing; the RoI heads of two-stage
  detectors run on ``test_cfg.rpn.max_per_img`` proposals (1000 in the COCO
  configs) and the mask head on the first 100, as in mmdet's tensor mode.
* ``backbone`` (default 224x224): ``model.backbone`` as configured, built
  in the config's ``default_scope`` (so MMSegmentation configs, dilated
  backbones included, count too).
* ``classifier`` (default 224x224): the MMPretrain ImageNet classifier: an
  MMPretrain config's own model (``configs/imagenet/``); for a detection or
  segmentation config, its backbone as the RLA-Net authors released it,
  every stage run (and, for RLA, the pooled ReLU(bn2(h)) concatenated to
  the pooled last stage by ``RLAClsNeck``), with a 1000-way
  ``LinearClsHead``. This is what the paper's parameter and FLOP columns
  count.

Give each plain-ResNet config before its RLA twins: every RLA model is
compared with the last non-RLA model listed before it.

Examples::

    python tools/analysis/get_flops.py configs/mask_rcnn_r50.py \\
        configs/mask_rcnn_rla_r50.py
    python tools/analysis/get_flops.py configs/imagenet/r50_8xb32_in1k.py \\
        configs/imagenet/rla_r50_8xb32_in1k.py --mode classifier
    python tools/analysis/get_flops.py configs/retinanet_rla_r101.py \\
        --mode backbone --shape 800 1333
    python tools/analysis/get_flops.py \\
        configs/deeplabv3plus_r50_d8_80k_cityscapes.py \\
        configs/deeplabv3plus_rla_r50_d8_80k_cityscapes.py \\
        --mode backbone --shape 512 1024
"""
import argparse
import copy
import os.path as osp
import sys
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config, DictAction
from mmengine.structures import InstanceData
from torch import Tensor

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rla_lab.utils.codebases import build_in_scope, config_scope

MODES = ('detector', 'backbone', 'classifier')
DEFAULT_SHAPES = dict(detector=(800, 1280), backbone=(224, 224),
                      classifier=(224, 224))
# Parts of a detector reported separately, in order.
DETECTOR_PARTS = ('backbone', 'neck', 'rpn_head', 'roi_head', 'bbox_head')
IMAGENET_CLASSES = 1000


class ClassifierLogits(nn.Module):
    """An MMPretrain classifier's logits as a plain forward, for tracing."""

    def __init__(self, classifier: nn.Module) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, inputs: Tensor) -> Tensor:
        """(N, 3, H, W) images -> (N, num_classes) logits."""
        return self.classifier(inputs, mode='tensor')


class DetectorCost(nn.Module):
    """A detector's forward without post-processing, for tracing.

    Two-stage detectors run their RoI heads on a fixed number of proposal
    boxes instead of the RPN's, so that the count depends neither on the
    (random) weights nor on NMS.

    Args:
        detector (nn.Module): A built mmdet detector.
        image_shape (tuple[int, int]): (H, W) of the input.
    """

    def __init__(self, detector: nn.Module,
                 image_shape: Tuple[int, int]) -> None:
        super().__init__()
        self.detector = detector
        self.proposals: Optional[Tensor] = None
        if getattr(detector, 'with_rpn', False):
            num = detector.rpn_head.test_cfg.max_per_img
            self.proposals = random_boxes(num, image_shape)
        elif not hasattr(detector, 'bbox_head'):
            raise TypeError(
                f'{type(detector).__name__} is neither a two-stage detector '
                f'(with rpn_head and roi_head) nor a single-stage one (with '
                f'bbox_head); use --mode backbone for its backbone alone.')

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Raw head outputs for (1, 3, H, W) images."""
        feats = self.detector.extract_feat(inputs)
        if self.proposals is None:
            return _flatten(self.detector.bbox_head(feats))
        rpn_outs = self.detector.rpn_head(feats)
        proposals = [InstanceData(bboxes=self.proposals)]
        roi_outs = self.detector.roi_head(feats, proposals)
        return _flatten(rpn_outs) + _flatten(roi_outs)


def random_boxes(num: int, image_shape: Tuple[int, int],
                 seed: int = 0) -> Tensor:
    """``num`` boxes (x1, y1, x2, y2) inside an image of (H, W) pixels."""
    generator = torch.Generator().manual_seed(seed)
    height, width = image_shape
    corners = torch.rand(num, 2, 2, generator=generator)
    corners = corners * torch.tensor([width, height])
    return torch.cat([corners.min(1).values, corners.max(1).values], dim=1)


def _flatten(outputs) -> Tuple[Tensor, ...]:
    """The tensors of nested tuples and lists, in order."""
    if isinstance(outputs, Tensor):
        return (outputs, )
    return tuple(t for output in outputs for t in _flatten(output))


def build_model(cfg: Config, mode: str,
                image_shape: Tuple[int, int]) -> nn.Module:
    """The model of ``cfg`` to count in ``mode``, in eval mode.

    No weights are loaded: ``init_cfg`` is left alone, so pretrained files
    need not exist.
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    if mode == 'detector':
        model = DetectorCost(MODELS.build(cfg.model), image_shape)
    elif mode == 'backbone':
        model = build_in_scope(cfg.model.backbone, config_scope(cfg))
    else:
        model = build_classifier(cfg)
    # Not chained: mmdet's ResNet.train() returns None.
    model.eval()
    return model


def imagenet_classifier_cfg(backbone_cfg: dict, scope: str) -> dict:
    """MMPretrain's ImageNet classifier around a detection or segmentation
    backbone config, every stage run.

    RLA backbones get the authors' head (``RLAClsNeck``: the pooled last
    stage with the pooled ReLU(bn2(h))); others global average pooling;
    then a 1000-way ``LinearClsHead``. The backbone is built from the
    registry of the config's codebase ``scope``.
    """
    backbone_cfg = copy.deepcopy(backbone_cfg)
    is_rla = str(backbone_cfg.get('type')).startswith('RLA')
    backbone_cfg.update(out_indices=(3, ), frozen_stages=-1)
    if is_rla:
        backbone_cfg.update(return_hidden=True)
    backbone = build_in_scope(backbone_cfg, scope)
    backbone.eval()  # not chained: mmdet's ResNet.train() returns None
    with torch.no_grad():
        outs = backbone(torch.zeros(1, 3, 64, 64))
    in_channels = sum(out.shape[1] for out in outs)
    if '.' not in str(backbone_cfg['type']):
        backbone_cfg['type'] = f'{scope}.{backbone_cfg["type"]}'
    neck = (dict(type='RLAClsNeck', rla_channels=outs[-1].shape[1])
            if is_rla else dict(type='GlobalAveragePooling'))
    return dict(
        type='ImageClassifier',
        backbone=backbone_cfg,
        neck=neck,
        head=dict(type='LinearClsHead', num_classes=IMAGENET_CLASSES,
                  in_channels=in_channels))


def build_classifier(cfg: Config) -> ClassifierLogits:
    """The ImageNet classifier of ``cfg``, as MMPretrain builds it: an
    MMPretrain config's own model, else :func:`imagenet_classifier_cfg` of
    its backbone."""
    scope = config_scope(cfg)
    model_cfg = (cfg.model if scope == 'mmpretrain' else
                 imagenet_classifier_cfg(cfg.model.backbone, scope))
    return ClassifierLogits(build_in_scope(model_cfg, 'mmpretrain'))


class Cost(NamedTuple):
    """Parameters and FLOPs (multiply-adds) of a model or of one part."""
    params: int
    flops: int


def count(model: nn.Module, image_shape: Tuple[int, int]
          ) -> Tuple[Dict[str, Cost], List[str]]:
    """Cost of ``model`` on one (3, H, W) image, in total and by part.

    Returns:
        tuple: ``{'total': Cost, part: Cost, ...}`` (the parts of a
        detector, see ``DETECTOR_PARTS``) and the names of the traced ops
        that were not counted.
    """
    inputs = (torch.randn(1, 3, *image_shape), )
    analyzer = FlopAnalyzer(model, inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    analyzer.tracer_warnings('none')
    flops = analyzer.by_module()
    params = parameter_count(model)
    costs = {'total': Cost(params[''], flops[''])}
    if isinstance(model, DetectorCost):
        for part in DETECTOR_PARTS:
            name = f'detector.{part}'
            if name in params:
                costs[part] = Cost(params[name], flops.get(name, 0))
    return costs, sorted(analyzer.unsupported_ops())


def _change(value: int, reference: Optional[int]) -> str:
    if not reference:
        return ''
    return f'{(value / reference - 1) * 100:+.1f}%'


def format_table(
        rows: Sequence[Tuple[str, Dict[str, Cost], Optional[Dict[str, Cost]]]]
) -> str:
    """A Markdown table of costs.

    Args:
        rows: (model name, its costs, the costs it is compared with or
            None), in order.
    """
    lines = [
        '| model | part | params (M) | params (2^20) | GFLOPs '
        '| GFLOPs (2^30) | params vs ResNet | FLOPs vs ResNet |',
        '|---|---|---:|---:|---:|---:|---:|---:|',
    ]
    for name, costs, reference in rows:
        for part, cost in costs.items():
            base = (reference or {}).get(part, Cost(0, 0))
            lines.append(
                f'| {name if part == "total" else ""} | {part} '
                f'| {cost.params / 1e6:.2f} | {cost.params / 2**20:.2f} '
                f'| {cost.flops / 1e9:.3f} | {cost.flops / 2**30:.3f} '
                f'| {_change(cost.params, base.params)} '
                f'| {_change(cost.flops, base.flops)} |')
    return '\n'.join(lines)


def describe(mode: str, image_shape: Tuple[int, int]) -> str:
    """One line saying what was counted."""
    height, width = image_shape
    what = dict(
        detector='detectors (backbone, neck and heads; RoI heads on '
        'test_cfg.rpn.max_per_img proposals, masks on 100)',
        backbone='backbones as configured (no classifier)',
        classifier='MMPretrain ImageNet classifiers (all stages, '
        '1000-way LinearClsHead)')[mode]
    return (f'{what}, input 1x3x{height}x{width}. FLOPs count multiply-adds '
            f'(mmengine/fvcore convention).')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Count parameters and FLOPs of detectors, their '
        'backbones, or the backbones as ImageNet classifiers, side by side.')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument(
        '--mode', choices=MODES, default='detector',
        help='what to count (default: %(default)s)')
    parser.add_argument(
        '--shape', type=int, nargs='+', metavar='SIZE',
        help='input height and width, or one size for both (default: '
        '800 1280 for detectors, 224 otherwise)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries of every config, as key=value pairs')
    args = parser.parse_args(argv)
    if args.shape is None:
        args.shape = DEFAULT_SHAPES[args.mode]
    elif len(args.shape) == 1:
        args.shape = (args.shape[0], args.shape[0])
    elif len(args.shape) != 2:
        parser.error(f'--shape takes SIZE or HEIGHT WIDTH, got {args.shape}.')
    args.shape = tuple(args.shape)
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    rows = []
    skipped = set()
    reference = None
    for path in args.configs:
        cfg = Config.fromfile(path)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        model = build_model(cfg, args.mode, args.shape)
        costs, unsupported = count(model, args.shape)
        is_rla = str(cfg.model.backbone.get('type')).startswith('RLA')
        rows.append((osp.splitext(osp.basename(path))[0], costs,
                     reference if is_rla else None))
        if not is_rla:
            reference = costs
        skipped.update(unsupported)
    print(describe(args.mode, args.shape))
    print(format_table(rows))
    if skipped:
        print('Not counted (no multiply-adds or unknown to the analyzer): ' +
              ', '.join(sorted(skipped)))


if __name__ == '__main__':
    main()
