"""Export a detector or segmentor to ONNX with MMDeploy, run it with ONNX
Runtime, and check it against PyTorch.

Usage::

    python tools/deploy.py DEPLOY_CFG MODEL_CFG CHECKPOINT [--work-dir DIR]
        [--shape H W] [--check N] [--images PATH ...] [--cfg-options ...]

``DEPLOY_CFG`` is one of ``configs/deploy/`` (MMDeploy's format); the
ONNX file goes to ``<work-dir>/end2end.onnx`` (default work dir:
``work_dirs/deploy/<model config name>``) beside ``check.json``. The model
is exported on the CPU with MMDeploy's rewriters (``mmdeploy.apis.onnx``),
then, for an ONNX Runtime config, both the PyTorch model and the ONNX model
(through MMDeploy's ``End2EndModel``) predict ``--check`` images and the
agreement is printed: for detectors, the share of PyTorch's detections the
runtime finds (same class, IoU >= 0.5) and how far boxes, scores and masks
moved; for segmentors, the share of pixels labelled alike. A TensorRT
config (GPU only) also builds ``end2end.engine`` with MMDeploy.

The images are ``--images`` (files), else the first ones of the model
config's test set when it is on disk, else synthetic images of odd sizes.
``--shape H W`` sets the example input of a dynamic export and the input
size of a static one.

The checkpoint is read with ``torch.load(weights_only=True)`` (a whole
training checkpoint with optimizer and message hub too: ``import rla_mm``
allow-lists mmengine's own objects) and must fit the model exactly.
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.config import Config, DictAction

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rla_mm  # noqa: F401  (registers RLAResNet and checkpoint globals)
from rla_lab.utils.checkpoint_io import (UnsafeCheckpointError,
                                         load_checkpoint_file)
from rla_lab.utils.codebases import (CodebaseNotInstalledError, config_scope,
                                     read_config)
from rla_mm.utils.checkpoint import (CheckpointMismatchError,
                                     extract_state_dict, match_state_dict)

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEPLOY_CONFIG_DIR = osp.join(REPO_ROOT, 'configs', 'deploy')
DEPLOY_REQUIREMENTS = osp.join(REPO_ROOT, 'requirements', 'deploy.txt')
# Detections drawn by mmdet's visualizer by default: those users see.
SHOWN_SCORE = 0.3
MATCH_IOU = 0.5
# Example input (H, W) of a dynamic export without images: odd on purpose.
SYNTHETIC_SHAPE = (427, 641)


class DeployError(RuntimeError):
    """The inputs of an export do not fit together."""


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export an mmdet/mmseg model to ONNX with MMDeploy and '
        'check ONNX Runtime against PyTorch.')
    parser.add_argument('deploy_cfg', help='a config of configs/deploy/')
    parser.add_argument('model_cfg', help='the model config')
    parser.add_argument('checkpoint', help='the model checkpoint')
    parser.add_argument('--work-dir', help='where end2end.onnx and '
                        'check.json go (default: work_dirs/deploy/<model>)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='example input size (dynamic configs) or the '
                        'fixed input size (static configs)')
    parser.add_argument('--check', type=int, default=4, metavar='N',
                        help='images to compare ONNX Runtime with PyTorch '
                        'on (0: export only; default 4)')
    parser.add_argument('--images', nargs='+', help='image files to export '
                        'with and check on')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override model config entries, key=value')
    return parser.parse_args(argv)


def require_mmdeploy() -> None:
    """Stop with the install command when MMDeploy or ONNX Runtime is
    missing."""
    missing = []
    for module in ('mmdeploy', 'onnx', 'onnxruntime'):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise DeployError(
            f'{", ".join(missing)} not installed. Install the tested '
            f'versions: pip install -r {osp.relpath(DEPLOY_REQUIREMENTS)}')


def shipped_deploy_configs() -> List[str]:
    return sorted(
        osp.relpath(path)
        for path in glob.glob(osp.join(DEPLOY_CONFIG_DIR, '*.py')))


def read_deploy_config(path: str) -> Config:
    """The deploy config at ``path``; a clear error if it is none."""
    if not osp.isfile(path):
        listed = '\n  '.join(shipped_deploy_configs())
        raise DeployError(f'No deploy config {path}. The shipped ones:\n  '
                          f'{listed}')
    cfg = Config.fromfile(path)
    missing = [
        key for key in ('onnx_config', 'codebase_config', 'backend_config')
        if key not in cfg
    ]
    if missing:
        raise DeployError(f'{path} is no MMDeploy deploy config: it has no '
                          f'{", ".join(missing)}.')
    return cfg


def check_pairing(deploy_cfg: Config, model_cfg: Config, deploy_path: str,
                  model_path: str) -> None:
    """A deploy config of the model's codebase, and masks only for a model
    with a mask head."""
    codebase = deploy_cfg.codebase_config.get('type')
    scope = config_scope(model_cfg)
    if codebase != scope:
        raise DeployError(
            f'{deploy_path} deploys {codebase} models, but {model_path} is '
            f'an {scope} config: pick a {scope} config of configs/deploy/.')
    wants_masks = 'masks' in deploy_cfg.onnx_config.output_names
    has_masks = 'mask_head' in model_cfg.model.get('roi_head', {})
    if wants_masks and not has_masks:
        raise DeployError(
            f'{deploy_path} exports masks, but {model_path} has no mask '
            f'head: use a detection_* deploy config.')


def _test_cfgs(model_cfg: Config) -> Dict[str, dict]:
    """The test_cfg of each NMS stage of a detector: RPN, R-CNN or a dense
    head."""
    test_cfg = model_cfg.model.get('test_cfg') or {}
    if 'rpn' in test_cfg or 'rcnn' in test_cfg:
        return {k: test_cfg[k] for k in ('rpn', 'rcnn') if k in test_cfg}
    return {'head': test_cfg}


def post_processing_departures(deploy_cfg: Config,
                               model_cfg: Config) -> List[str]:
    """Where MMDeploy's NMS would not do what the model's test_cfg asks.

    MMDeploy takes iou_threshold, score_thr and max_per_img from the
    test_cfg, and the rest from the deploy config's ``post_processing``
    (docs/deploy.md, "Post-processing").
    """
    if deploy_cfg.codebase_config.get('type') != 'mmdet':
        return []
    post = deploy_cfg.codebase_config.get('post_processing', {})
    departures = []
    for stage, cfg in _test_cfgs(model_cfg).items():
        max_per_img = cfg.get('max_per_img')
        per_class = post.get('max_output_boxes_per_class')
        if max_per_img is not None and per_class is not None \
                and per_class < max_per_img:
            departures.append(
                f'{stage}: max_output_boxes_per_class={per_class} keeps '
                f'fewer boxes per class than max_per_img={max_per_img}')
        if 'score_thr' not in cfg and post.get('score_threshold', 0) > 0:
            departures.append(
                f'{stage}: no score_thr in test_cfg, but post_processing.'
                f'score_threshold={post.score_threshold} drops the boxes '
                f'under it')
    if post.get('pre_top_k', -1) > 0:
        departures.append(
            f'pre_top_k={post.pre_top_k}: a top-k across levels before NMS '
            f'that mmdet does not do')
    return departures


def load_model(task_processor, checkpoint: str,
               model_path: str) -> torch.nn.Module:
    """The PyTorch model of ``model_path`` with ``checkpoint``, strictly."""
    model = task_processor.build_pytorch_model(None)
    state_dict = extract_state_dict(load_checkpoint_file(checkpoint))
    # mmdeploy loads with mmengine's load_checkpoint, which only warns
    # about keys that do not fit.
    target = model.state_dict()
    state_dict = match_state_dict(
        state_dict, target, source_name=checkpoint, model_name=model_path,
        classifier_prefixes=(),
        hint=lambda keys: '  Is it the checkpoint of this config?')
    model.load_state_dict(state_dict)
    return model.eval()


def check_images(model_cfg: Config, count: int,
                 images: Optional[Sequence[str]],
                 shape: Optional[Sequence[int]]) -> List:
    """``count`` images (at least one, to export with): files, else the
    model's test set, else synthetic images of odd sizes."""
    count = max(count, 1)
    if images:
        return list(images)[:count]
    dataset = model_cfg.get('test_dataloader', {}).get('dataset', {})
    prefix = dataset.get('data_prefix', {})
    image_dir = osp.join(
        dataset.get('data_root', ''),
        prefix.get('img', prefix.get('img_path', '')))
    files = sorted(
        glob.glob(osp.join(image_dir, '*.jpg')) +
        glob.glob(osp.join(image_dir, '*.png'))) if image_dir else []
    if files:
        return files[:count]
    height, width = shape or SYNTHETIC_SHAPE
    rng = np.random.default_rng(0)
    images = []
    for i in range(count):
        # Each larger than the last by more than the coarsest stride (so
        # every feature map changes size), and odd when the first is.
        h, w = height + 38 * i, width + 46 * i
        # Smooth random images: noise upsampled 8x.
        noise = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1, 3))
        images.append(np.ascontiguousarray(
            np.kron(noise, np.ones((8, 8, 1)))[:h, :w]).astype(np.uint8))
    return images


def input_shape(deploy_cfg: Config,
                shape: Optional[Sequence[int]]) -> Optional[List[int]]:
    """MMDeploy's ``input_shape`` ([W, H]) for a static config."""
    from mmdeploy.utils import get_input_shape, is_dynamic_shape
    if is_dynamic_shape(deploy_cfg):
        return None
    if shape is not None:
        deploy_cfg.onnx_config.input_shape = [shape[1], shape[0]]
    return get_input_shape(deploy_cfg)


def export_onnx(task_processor, model: torch.nn.Module, deploy_cfg: Config,
                image, work_dir: str) -> str:
    """Export ``model`` with MMDeploy's rewriters; the ONNX file's path."""
    from mmdeploy.apis.onnx import export
    from mmdeploy.utils import get_dynamic_axes, get_ir_config

    onnx_cfg = get_ir_config(deploy_cfg)
    data, inputs = task_processor.create_input(
        image, input_shape(deploy_cfg, None),
        data_preprocessor=model.data_preprocessor)
    names = onnx_cfg['input_names'] + onnx_cfg['output_names']
    prefix = osp.join(work_dir, osp.splitext(onnx_cfg['save_file'])[0])
    # A copy: MMDeploy's export leaves the rewritten forward set on the
    # model it was given, and the check needs the model as it was.
    export(
        copy.deepcopy(model),
        inputs,
        output_path_prefix=prefix,
        backend=deploy_cfg.backend_config.type,
        input_metas={'data_samples': data['data_samples'], 'mode': 'predict'},
        context_info={'deploy_cfg': deploy_cfg},
        input_names=onnx_cfg['input_names'],
        output_names=onnx_cfg['output_names'],
        opset_version=onnx_cfg.get('opset_version', 11),
        dynamic_axes=get_dynamic_axes(deploy_cfg, names),
        keep_initializers_as_inputs=onnx_cfg.get(
            'keep_initializers_as_inputs', False),
        optimize=onnx_cfg.get('optimize', False))
    return prefix + '.onnx'


def _box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area = lambda x: (x[:, 2:] - x[:, :2]).clip(0).prod(-1)  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None] - inter, 1e-9)


def match_detections(ref: dict, out: dict, min_score: float) -> dict:
    """Match ``out``'s detections to ``ref``'s (greedy by ``ref``'s score;
    same label, IoU >= 0.5) among those scoring ``min_score`` or more.

    Each of ``ref``, ``out``: ``bboxes`` (N, 4), ``scores``, ``labels``
    and optionally ``masks`` (N, H, W) bool, as numpy arrays.
    """
    keep_ref = np.flatnonzero(ref['scores'] >= min_score)
    keep_out = np.flatnonzero(out['scores'] >= min_score)
    keep_ref = keep_ref[np.argsort(-ref['scores'][keep_ref], kind='stable')]
    ious = _box_iou(ref['bboxes'][keep_ref], out['bboxes'][keep_out])
    ious[ref['labels'][keep_ref][:, None] !=
         out['labels'][keep_out][None, :]] = 0
    taken = np.zeros(len(keep_out), bool)
    pairs = []
    for row, i in enumerate(keep_ref):
        candidates = np.where(taken, -1, ious[row])
        if candidates.size and candidates.max() >= MATCH_IOU:
            col = int(candidates.argmax())
            taken[col] = True
            pairs.append((i, keep_out[col]))
    result = dict(ref=len(keep_ref), out=len(keep_out), matched=len(pairs),
                  box_diff=0.0, score_diff=0.0, mask_iou=[])
    for i, j in pairs:
        result['box_diff'] = max(
            result['box_diff'],
            float(np.abs(ref['bboxes'][i] - out['bboxes'][j]).max()))
        result['score_diff'] = max(
            result['score_diff'],
            float(abs(ref['scores'][i] - out['scores'][j])))
        if 'masks' in ref and 'masks' in out:
            a, b = ref['masks'][i], out['masks'][j]
            union = np.logical_or(a, b).sum()
            result['mask_iou'].append(
                float(np.logical_and(a, b).sum() / union) if union else 1.0)
    return result


def _instances(sample) -> dict:
    pred = sample.pred_instances
    found = {
        key: getattr(pred, key).detach().cpu().numpy()
        for key in ('bboxes', 'scores', 'labels', 'masks') if key in pred
    }
    if 'masks' in found:
        found['masks'] = found['masks'].astype(bool)
    return found


def _label_map(sample) -> np.ndarray:
    return sample.pred_sem_seg.data.detach().cpu().numpy()


def _at_network_size(data: dict) -> dict:
    """``data`` whose samples say the original image had the network's
    input size, so neither side resizes its output (mmseg resizes logits,
    MMDeploy resizes labels: docs/deploy.md)."""
    data = copy.deepcopy(data)
    for sample in data['data_samples']:
        sample.set_metainfo(dict(ori_shape=sample.img_shape))
    return data


def _add_detections(totals: Dict[str, dict], ref, out) -> dict:
    """Match one image's detections at both score floors; add them up."""
    entry = {}
    for name, min_score in (('shown', SHOWN_SCORE), ('all', 0.0)):
        found = match_detections(_instances(ref), _instances(out), min_score)
        entry[name] = found
        total = totals.setdefault(
            name, dict(ref=0, out=0, matched=0, box_diff=0.0, score_diff=0.0,
                       mask_iou=[]))
        for key in ('ref', 'out', 'matched'):
            total[key] += found[key]
        for key in ('box_diff', 'score_diff'):
            total[key] = max(total[key], found[key])
        total['mask_iou'] += found['mask_iou']
    return entry


def _summarize_detections(totals: Dict[str, dict]) -> dict:
    summary = {}
    for name, total in totals.items():
        ious = total.pop('mask_iou')
        total['recall'] = total['matched'] / max(total['ref'], 1)
        total['precision'] = total['matched'] / max(total['out'], 1)
        if ious:
            total['mask_iou_mean'] = float(np.mean(ious))
            total['mask_iou_min'] = float(np.min(ious))
        summary[name] = total
    return summary


def compare(task_processor, model, backend_model, deploy_cfg: Config,
            images: Sequence, shape: Optional[Sequence[int]]) -> dict:
    """Agreement of ``backend_model`` with ``model`` on ``images``."""
    is_seg = deploy_cfg.codebase_config.type == 'mmseg'
    static_shape = input_shape(deploy_cfg, shape)
    totals: Dict[str, dict] = {}
    pixels = same = 0
    per_image = []
    for image in images:
        data, _ = task_processor.create_input(image, static_shape)
        if is_seg:
            data = _at_network_size(data)
        with torch.no_grad():
            ref = model.test_step(copy.deepcopy(data))[0]
            out = backend_model.test_step(copy.deepcopy(data))[0]
        if is_seg:
            a, b = _label_map(ref), _label_map(out)
            entry = dict(pixels=int(a.size), same=int((a == b).sum()))
            pixels += entry['pixels']
            same += entry['same']
        else:
            entry = _add_detections(totals, ref, out)
        entry['shape'] = list(data['data_samples'][0].img_shape)
        per_image.append(entry)
    summary = (dict(pixel_agreement=same / pixels) if is_seg else
               _summarize_detections(totals))
    return dict(summary=summary, images=per_image)


def format_summary(summary: dict) -> str:
    if 'pixel_agreement' in summary:
        return (f'label maps: {100 * summary["pixel_agreement"]:.3f}% of '
                f'pixels agree')
    lines = []
    for name, title in (('shown', f'score >= {SHOWN_SCORE}'),
                        ('all', 'all kept')):
        s = summary[name]
        line = (f'{title}: ONNX Runtime finds {s["matched"]}/{s["ref"]} of '
                f'PyTorch\'s detections ({100 * s["recall"]:.1f}%), '
                f'{s["matched"]}/{s["out"]} of its own match '
                f'({100 * s["precision"]:.1f}%); matched: box moved <= '
                f'{s["box_diff"]:.3g} px, score <= {s["score_diff"]:.3g}')
        if 'mask_iou_mean' in s:
            line += (f', mask IoU mean {s["mask_iou_mean"]:.4f} min '
                     f'{s["mask_iou_min"]:.4f}')
        lines.append(line)
    return '\n'.join(lines)


def deploy(args: argparse.Namespace) -> dict:
    """Export, then check; returns what ``check.json`` holds."""
    require_mmdeploy()
    from mmdeploy.apis import build_task_processor
    from mmdeploy.utils import get_backend

    from rla_lab.utils.mmdeploy_compat import apply_mmdeploy_compat
    from rla_lab.utils.onnx_export import (
        register_adaptive_avg_pool_rewriter, register_avg_pool_symbolic,
        register_mmseg_upsample_rewriter, register_rcnn_classwise_nms_rewriter,
        register_rpn_levelwise_nms_rewriter)

    apply_mmdeploy_compat()
    register_avg_pool_symbolic()
    deploy_cfg = read_deploy_config(args.deploy_cfg)
    if deploy_cfg.codebase_config.get('type') == 'mmseg':
        register_mmseg_upsample_rewriter()
        register_adaptive_avg_pool_rewriter()
    else:
        register_rcnn_classwise_nms_rewriter()
        register_rpn_levelwise_nms_rewriter()
    model_cfg = read_config(args.model_cfg)
    if args.cfg_options:
        model_cfg.merge_from_dict(args.cfg_options)
    check_pairing(deploy_cfg, model_cfg, args.deploy_cfg, args.model_cfg)
    for departure in post_processing_departures(deploy_cfg, model_cfg):
        print(f'warning: MMDeploy departs from the test_cfg: {departure}',
              file=sys.stderr)
    input_shape(deploy_cfg, args.shape)  # a static config takes --shape

    backend = get_backend(deploy_cfg).value
    device = 'cpu'
    if backend == 'tensorrt':
        from mmdeploy.apis import tensorrt
        if not torch.cuda.is_available() or not tensorrt.is_available():
            raise DeployError(
                f'{args.deploy_cfg} builds a TensorRT engine: it needs an '
                f'NVIDIA GPU with CUDA, TensorRT and MMDeploy\'s TensorRT '
                f'ops, not found here. The *_onnxruntime_* configs run on '
                f'the CPU.')
        device = 'cuda:0'

    work_dir = args.work_dir or osp.join(
        'work_dirs', 'deploy',
        osp.splitext(osp.basename(args.model_cfg))[0])
    os.makedirs(work_dir, exist_ok=True)
    task_processor = build_task_processor(model_cfg, deploy_cfg, device)
    model = load_model(task_processor, args.checkpoint, args.model_cfg)
    images = check_images(model_cfg, args.check, args.images, args.shape)
    onnx_file = export_onnx(task_processor, model, deploy_cfg, images[0],
                            work_dir)
    record = dict(deploy_cfg=args.deploy_cfg, model_cfg=args.model_cfg,
                  checkpoint=args.checkpoint, onnx=onnx_file)
    print(f'exported {onnx_file}')
    if backend == 'tensorrt':
        # Untested here (no GPU with TensorRT): MMDeploy's own conversion.
        from mmdeploy.apis.tensorrt import onnx2tensorrt
        onnx2tensorrt(work_dir, 'end2end.engine', 0, deploy_cfg, onnx_file,
                      device=device)
        record['engine'] = osp.join(work_dir, 'end2end.engine')
        print(f'built {record["engine"]}')
    if args.check > 0 and backend == 'onnxruntime':
        backend_model = task_processor.build_backend_model([onnx_file])
        record.update(compare(task_processor, model, backend_model,
                              deploy_cfg, images[:args.check], args.shape))
        print(f'ONNX Runtime vs PyTorch on {len(record["images"])} images:')
        print(format_summary(record['summary']))
    with open(osp.join(work_dir, 'check.json'), 'w') as f:
        json.dump(record, f, indent=1)
    return record


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        deploy(args)
    except (DeployError, CodebaseNotInstalledError, CheckpointMismatchError,
            UnsafeCheckpointError, FileNotFoundError) as error:
        raise SystemExit(f'error: {error}') from None


if __name__ == '__main__':
    main()
