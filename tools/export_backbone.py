"""Export a model's backbone (and neck) alone to ONNX, for any runtime, and
check ONNX Runtime's features against PyTorch's.

Usage::

    python tools/export_backbone.py MODEL_CFG [CHECKPOINT] [--out FILE]
        [--neck] [--shape H W] [--check-shapes H W [H W ...]]
        [--cfg-options ...]

The graph takes a normalized image batch ``input`` (N, 3, H, W) of any
batch size, height and width and returns the backbone's stage outputs
``feat0``, ``feat1``, ... (with ``--neck``, the neck's outputs instead). It
is plain ONNX (opset 11, no custom ops), exported by torch's TorchScript
exporter, so MMDeploy is not needed. ``CHECKPOINT`` is a whole model's
(detector, segmentor, classifier: the ``backbone.``/``neck.`` weights are
taken) or a backbone's, loaded strictly; without it the weights are random.

Each ``--check-shapes`` size (default: odd and even ones) runs through ONNX
Runtime and PyTorch; a relative difference (max |ORT - PyTorch| / max
|PyTorch|, per output) above 1e-5 is an error.
"""
import argparse
import inspect
import os
import os.path as osp
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import DictAction
from torch import nn

# rla_lab, the lab code of this checkout, sits beside tools/ and is not
# installed with rla_mm.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rla_mm  # noqa: F401  (registers RLAResNet and checkpoint globals)
from rla_lab.utils.checkpoint_io import (UnsafeCheckpointError,
                                         load_checkpoint_file)
from rla_lab.utils.codebases import (CodebaseNotInstalledError, build_in_scope,
                                     config_scope, read_config)
from rla_lab.utils.onnx_export import register_avg_pool_symbolic
from rla_mm.utils.checkpoint import (CheckpointMismatchError,
                                     extract_state_dict, match_state_dict)

TOLERANCE = 1e-5
OPSET = 11
DEFAULT_CHECK_SHAPES = ((224, 224), (255, 321), (97, 131))


class FeatureModel(nn.Module):
    """The backbone, and the neck if given, as one module of tuples."""

    def __init__(self, backbone: nn.Module, neck: Optional[nn.Module] = None):
        super().__init__()
        self.backbone = backbone
        self.neck = neck

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.backbone(x)
        if self.neck is not None:
            feats = self.neck(feats)
        return tuple(feats)


def build_feature_model(cfg, checkpoint: Optional[str],
                        with_neck: bool) -> FeatureModel:
    """Backbone (and neck) of the model config ``cfg``, in eval mode, with
    ``checkpoint``'s weights loaded strictly."""
    scope = config_scope(cfg)
    if with_neck and not cfg.model.get('neck'):
        raise ValueError('--neck: the model has no neck.')
    parts = dict(backbone=build_in_scope(cfg.model.backbone, scope))
    if with_neck:
        parts['neck'] = build_in_scope(cfg.model.neck, scope)
    model = FeatureModel(**parts)
    if checkpoint is not None:
        source = extract_state_dict(load_checkpoint_file(checkpoint))
        if not any(k.startswith('backbone.') for k in source):
            source = {f'backbone.{k}': v for k, v in source.items()}
        wanted = tuple(f'{name}.' for name in parts)
        source = {k: v for k, v in source.items() if k.startswith(wanted)}
        model.load_state_dict(
            match_state_dict(source, model.state_dict(),
                             source_name=checkpoint,
                             model_name='the backbone' +
                             (' and neck' if with_neck else ''),
                             classifier_prefixes=('backbone.fc.',
                                                  'backbone.bn2.')))
    return model.eval()


def export(model: FeatureModel, out_file: str,
           shape: Sequence[int]) -> List[str]:
    """Export ``model`` with dynamic batch, height and width; the output
    names."""
    with torch.no_grad():
        count = len(model(torch.zeros(1, 3, *shape)))
    names = [f'feat{i}' for i in range(count)]
    dynamic = {0: 'batch', 2: 'height', 3: 'width'}
    kwargs = {}
    if 'dynamo' in inspect.signature(torch.onnx.export).parameters:
        # torch >= 2.9 defaults to the torch.export-based exporter;
        # dynamic_axes belongs to the TorchScript one.
        kwargs['dynamo'] = False
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    register_avg_pool_symbolic()
    torch.onnx.export(
        model, (torch.randn(1, 3, *shape), ), out_file,
        input_names=['input'], output_names=names, opset_version=OPSET,
        dynamic_axes={name: dynamic for name in ['input', *names]},
        **kwargs)
    return names


def relative_differences(model: FeatureModel, onnx_file: str,
                         shapes: Sequence[Sequence[int]],
                         seed: int = 0) -> Dict[Tuple[int, int], List[float]]:
    """Per input size, per output: max |ORT - PyTorch| / max |PyTorch|."""
    import onnxruntime as ort
    session = ort.InferenceSession(onnx_file,
                                   providers=['CPUExecutionProvider'])
    generator = torch.Generator().manual_seed(seed)
    found = {}
    for height, width in shapes:
        x = torch.randn(1, 3, height, width, generator=generator)
        with torch.no_grad():
            expected = [t.numpy() for t in model(x)]
        got = session.run(None, {'input': x.numpy()})
        if [a.shape for a in got] != [e.shape for e in expected]:
            raise AssertionError(
                f'{height}x{width}: ONNX Runtime gave shapes '
                f'{[a.shape for a in got]}, PyTorch '
                f'{[e.shape for e in expected]}')
        found[(height, width)] = [
            float(np.abs(a - e).max() / max(np.abs(e).max(), 1e-12))
            for a, e in zip(got, expected)
        ]
    return found


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a backbone (and neck) to ONNX and check it.')
    parser.add_argument('config', help='the model config')
    parser.add_argument('checkpoint', nargs='?',
                        help='a whole model\'s or a backbone\'s weights')
    parser.add_argument('--out', help='the ONNX file (default: '
                        'work_dirs/deploy/<config>_backbone.onnx)')
    parser.add_argument('--neck', action='store_true',
                        help='export the neck\'s outputs too')
    parser.add_argument('--shape', type=int, nargs=2, default=(224, 224),
                        metavar=('H', 'W'), help='example input size')
    parser.add_argument('--check-shapes', type=int, nargs='+',
                        metavar='H W', help='sizes to check at, as pairs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    args = parser.parse_args(argv)
    if args.check_shapes and len(args.check_shapes) % 2:
        parser.error('--check-shapes takes pairs: H W [H W ...]')
    return args


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    try:
        cfg = read_config(args.config)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        model = build_feature_model(cfg, args.checkpoint, args.neck)
    except (CodebaseNotInstalledError, CheckpointMismatchError,
            UnsafeCheckpointError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f'error: {error}') from None
    stem = osp.splitext(osp.basename(args.config))[0]
    out_file = args.out or osp.join(
        'work_dirs', 'deploy',
        f'{stem}_{"neck" if args.neck else "backbone"}.onnx')
    names = export(model, out_file, args.shape)
    print(f'exported {out_file}: input (N, 3, H, W) -> {", ".join(names)}')
    shapes = (list(zip(args.check_shapes[::2], args.check_shapes[1::2]))
              if args.check_shapes else DEFAULT_CHECK_SHAPES)
    worst = 0.0
    for (height, width), diffs in relative_differences(
            model, out_file, shapes).items():
        worst = max(worst, *diffs)
        print(f'{height}x{width}: relative difference per output '
              f'{", ".join(f"{d:.2e}" for d in diffs)}')
    if worst > TOLERANCE:
        sys.exit(f'error: ONNX Runtime departs from PyTorch by {worst:.2e} '
                 f'(relative), more than {TOLERANCE:g}')
    print(f'ONNX Runtime agrees with PyTorch within {TOLERANCE:g} '
          f'(worst {worst:.2e})')


if __name__ == '__main__':
    main()
