"""Check a released mmdet 2.x RLA detector against our config; save it slim.

``tools/test.py CONFIG CHECKPOINT`` evaluates the authors' COCO checkpoints
(``faster_rcnn_r50rla_fpn_1x_coco_388``, ``retinanet_r50rla_fpn_1x_coco_379``,
``mask_rcnn_r50rla_fpn_1x_coco_395``, ...) as they are: no parameter was
renamed between mmdet 2.x and 3.x for these models. The RLA backbone
(``backbone.conv1``, ``backbone.stages.*``, ``backbone.stage_bns.*``,
``backbone.conv_outs.*``, ``backbone.recurrent_convs.*``, no classifier) and
mmdet's modules keep their keys and shapes:

* FPN: ``neck.lateral_convs.<i>.conv``, ``neck.fpn_convs.<i>.conv``;
* RPNHead: ``rpn_head.rpn_conv``, ``rpn_cls``, ``rpn_reg`` (sigmoid
  classification, one score per anchor, in both);
* Shared2FCBBoxHead: ``roi_head.bbox_head.shared_fcs.<i>``, ``fc_cls``
  (``num_classes + 1`` outputs in both), ``fc_reg``;
* FCNMaskHead: ``roi_head.mask_head.convs.<i>.conv``, ``upsample``,
  ``conv_logits``;
* RetinaHead: ``bbox_head.cls_convs.<i>.conv``, ``reg_convs.<i>.conv``,
  ``retina_cls``, ``retina_reg``;

and mmdet 3's ``data_preprocessor`` saves no state. What differs is around
the weights: a 2.x file keeps the class names in ``meta['CLASSES']`` (3.x:
``meta['dataset_meta']['classes']``, though mmdet 3 reads both) and often
the optimizer state.

mmengine's loader only warns about missing or unexpected keys. This tool
loads the weights into the model built from CONFIG strictly, so any
mismatch is an error that lists the keys, and writes the weights with 3.x
``meta`` and without the optimizer as ``OUT_STEM-<sha256[:8]>.pth``.

Example::

    python tools/model_converters/upgrade_mmdet2_detector.py \\
        configs/faster_rcnn_rla_r50.py \\
        faster_rcnn_r50rla_fpn_1x_coco_388.pth \\
        checkpoints/faster_rcnn_rla_r50_coco.pth
"""
import argparse
import os.path as osp
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Sequence

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rla_lab.utils.checkpoint_io import publish
from rla_lab.utils.cli import add_output_arguments, load_input_checkpoint
from rla_lab.utils.codebases import read_config
from rla_mm.utils.checkpoint import extract_state_dict


def check_fits(state_dict: Mapping, config: str) -> None:
    """Load ``state_dict`` strictly into the detector of ``config``.

    The model is built without loading its pretrained backbone.

    Raises:
        ValueError: Listing missing and unexpected keys and shape
            mismatches.
    """
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules()
    cfg = read_config(config)
    model = MODELS.build(cfg.model)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise ValueError(
            f'the weights do not fit the model of {config}:\n{error}\n'
            f'Check that the config has the detector, depth, ECA setting and '
            f'number of classes of the checkpoint.') from None


def upgrade(checkpoint: Mapping, source: str) -> Dict[str, Any]:
    """The mmdet 3.x form of a loaded mmdet 2.x checkpoint.

    Returns:
        dict: ``state_dict`` unchanged (``module.`` prefixes removed) and
        ``meta`` with ``dataset_meta`` (from 2.x's ``CLASSES``, when there),
        the source file and its mmdet version.
    """
    old_meta = checkpoint.get('meta') or {}
    meta: Dict[str, Any] = dict(source=source)
    if 'mmdet_version' in old_meta:
        meta['source_mmdet_version'] = old_meta['mmdet_version']
    if old_meta.get('CLASSES') is not None:
        meta['dataset_meta'] = dict(classes=list(old_meta['CLASSES']))
    return dict(
        meta=meta, state_dict=OrderedDict(extract_state_dict(checkpoint)))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check an mmdet 2.x detector checkpoint strictly against '
        'a config and save it in mmdet 3.x form, named by its SHA-256.')
    parser.add_argument('config', help='our config of the same detector')
    parser.add_argument('in_file', help='mmdet 2.x checkpoint')
    add_output_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Check and upgrade; return the path written."""
    args = parse_args(argv)
    checkpoint = load_input_checkpoint(args)
    upgraded = upgrade(checkpoint, osp.basename(args.in_file))
    try:
        check_fits(upgraded['state_dict'], args.config)
    except ValueError as error:
        raise SystemExit(f'{args.in_file}: {error}') from None
    print(f'{args.in_file}: {len(upgraded["state_dict"])} tensors fit the '
          f'model of {args.config} exactly.')
    dropped = [k for k in checkpoint if k not in ('meta', 'state_dict')]
    if dropped:
        print('  dropped ' + ', '.join(dropped))
    out_file, sha256 = publish(upgraded, args.out_file)
    print(f'Wrote {out_file} (SHA-256 {sha256[:8]}).')
    return out_file


if __name__ == '__main__':
    main()
