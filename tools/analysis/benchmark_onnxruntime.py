"""RLA-ResNet vs ResNet under ONNX Runtime (CPU), beside PyTorch eager.

Four models run in alternating rounds in one process (see
``benchmark_backbone.time_alternating``): RLA and its ResNet twin, each
under ONNX Runtime and in PyTorch eager mode (``torch.no_grad``, eval).
Printed: the RLA/ResNet ratio under each runtime (median of per-round
ratios, and its range) and each model's ONNX Runtime/eager ratio.

* backbone (default): RLA-ResNet-50 vs mmdet's ResNet-50 at 1x3x800x1333,
  exported alone (``tools/export_backbone.py``);
* ``--detector``: the demo Mask R-CNNs (``configs/demo/mask_rcnn_*``),
  exported end to end with MMDeploy (``tools/deploy.py``), on a demo
  image. The runtime runs the graph (network and NMS); eager runs
  ``model.predict`` (the same, plus pasting masks). With checkpoints
  (``--checkpoints RLA R50``, e.g. the trained demos) the number of
  detections, and so the R-CNN's work, is a trained model's.

Examples::

    python tools/analysis/benchmark_onnxruntime.py --repeats 9
    python tools/analysis/benchmark_onnxruntime.py --detector \\
        --checkpoints work_dirs/demo/train/iter_500.pth \\
        work_dirs/demo_r50/train/iter_500.pth
"""
import argparse
import os.path as osp
import sys
import tempfile
from typing import Callable, Dict, Optional, Sequence

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from tools.analysis.benchmark_backbone import (summarize_rounds,  # noqa: E402
                                               time_alternating)

DEMO_CONFIGS = {
    'rla': 'configs/demo/mask_rcnn_rla_r50_shapes.py',
    'resnet': 'configs/demo/mask_rcnn_r50_shapes.py',
}
BACKBONE_CONFIGS = {
    'rla': 'configs/retinanet_rla_r50.py',
    'resnet': 'configs/retinanet_r50.py',
}


def session(onnx_file: str, threads: Optional[int]):
    import onnxruntime as ort
    from mmdeploy.backend.onnxruntime.init_plugins import get_ops_path
    options = ort.SessionOptions()
    if osp.isfile(get_ops_path()):
        options.register_custom_ops_library(get_ops_path())
    if threads:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(onnx_file, options,
                                providers=['CPUExecutionProvider'])


def backbone_runs(work_dir: str, shape: Sequence[int],
                  threads: Optional[int]) -> Dict[str, Callable]:
    from mmengine.config import Config

    from tools import export_backbone
    x = torch.randn(1, 3, *shape)
    runs = {}
    for kind, config in BACKBONE_CONFIGS.items():
        cfg = Config.fromfile(osp.join(ROOT, config))
        cfg.model.backbone.init_cfg = None
        model = export_backbone.build_feature_model(cfg, None, False)
        onnx_file = osp.join(work_dir, f'{kind}.onnx')
        export_backbone.export(model, onnx_file, shape)
        ort_session = session(onnx_file, threads)
        feed = {'input': x.numpy()}
        runs[f'{kind} ort'] = lambda s=ort_session: s.run(None, feed)

        def eager(m=model):
            with torch.no_grad():
                m(x)
        runs[f'{kind} eager'] = eager
    return runs


def detector_runs(work_dir: str, checkpoints: Optional[Sequence[str]],
                  threads: Optional[int]) -> Dict[str, Callable]:
    from mmdeploy.apis import build_task_processor

    from rla_lab.utils.codebases import build_in_scope, read_config
    from tools import deploy
    deploy_cfg_path = osp.join(ROOT, 'configs', 'deploy',
                               'instance-seg_onnxruntime_dynamic.py')
    runs = {}
    for index, (kind, config) in enumerate(DEMO_CONFIGS.items()):
        config = osp.join(ROOT, config)
        if checkpoints:
            checkpoint = checkpoints[index]
        else:
            cfg = read_config(config)
            model = build_in_scope(cfg.model, 'mmdet')
            model.init_weights()
            checkpoint = osp.join(work_dir, f'{kind}.pth')
            torch.save({'state_dict': model.state_dict()}, checkpoint)
        out_dir = osp.join(work_dir, kind)
        deploy.deploy(deploy.parse_args([
            deploy_cfg_path, config, checkpoint, '--work-dir', out_dir,
            '--check', '0']))
        model_cfg = read_config(config)
        deploy_cfg = deploy.read_deploy_config(deploy_cfg_path)
        processor = build_task_processor(model_cfg, deploy_cfg, 'cpu')
        model = deploy.load_model(processor, checkpoint, config)
        image = deploy.check_images(model_cfg, 1, None, None)[0]
        data, inputs = processor.create_input(
            image, None, data_preprocessor=model.data_preprocessor)
        ort_session = session(osp.join(out_dir, 'end2end.onnx'), threads)
        feed = {'input': inputs.numpy()}
        runs[f'{kind} ort'] = lambda s=ort_session: s.run(None, feed)

        def eager(m=model, data=data, inputs=inputs):
            with torch.no_grad():
                m.predict(inputs, data['data_samples'])
        runs[f'{kind} eager'] = eager
    return runs


def report(times: Dict[str, list]) -> str:
    lines = []
    for runtime in ('ort', 'eager'):
        summary = summarize_rounds({
            'rla': times[f'rla {runtime}'],
            'resnet': times[f'resnet {runtime}']
        })
        lines.append(
            f'{runtime:5s}: RLA {1e3 * summary["rla"]:8.1f} ms, ResNet '
            f'{1e3 * summary["resnet"]:8.1f} ms, RLA/ResNet '
            f'{summary["ratio"]:.3f} ({summary["ratio_min"]:.3f}-'
            f'{summary["ratio_max"]:.3f})')
    for kind in ('rla', 'resnet'):
        summary = summarize_rounds({
            'rla': times[f'{kind} ort'],
            'resnet': times[f'{kind} eager']
        })
        lines.append(f'{kind:6s} ONNX Runtime / eager: {summary["ratio"]:.3f} '
                     f'({summary["ratio_min"]:.3f}-'
                     f'{summary["ratio_max"]:.3f})')
    return '\n'.join(lines)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--detector', action='store_true',
                        help='the demo Mask R-CNNs instead of backbones')
    parser.add_argument('--checkpoints', nargs=2, metavar=('RLA', 'R50'),
                        help='--detector: weights of the two demo models')
    parser.add_argument('--shape', type=int, nargs=2, default=(800, 1333),
                        metavar=('H', 'W'), help='backbone input size')
    parser.add_argument('--repeats', type=int, default=9)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None,
                        help='threads of both runtimes (default: theirs)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    import rla_mm  # noqa: F401
    from rla_lab.utils.mmdeploy_compat import apply_mmdeploy_compat
    apply_mmdeploy_compat()
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as work_dir:
        runs = (detector_runs(work_dir, args.checkpoints, args.threads)
                if args.detector else
                backbone_runs(work_dir, args.shape, args.threads))
        times = time_alternating(runs, args.repeats, args.warmup,
                                 torch.device('cpu'))
    what = ('demo Mask R-CNN' if args.detector else
            f'backbone 1x3x{args.shape[0]}x{args.shape[1]}')
    print(f'{what}, {args.repeats} rounds, torch threads '
          f'{torch.get_num_threads()}')
    print(report(times))


if __name__ == '__main__':
    main()
