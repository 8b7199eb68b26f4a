"""Deployment: export through MMDeploy to ONNX Runtime, checked against
PyTorch, on tiny RLA models (narrow widths, random weights)."""
import inspect
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

pytest.importorskip('mmdeploy')
pytest.importorskip('onnxruntime')

from rla_lab.utils.codebases import build_in_scope, read_config  # noqa: E402
from rla_mm.utils.checkpoint import CheckpointMismatchError  # noqa: E402
from tools import deploy, export_backbone  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEPLOY = osp.join(ROOT, 'configs', 'deploy')
# Odd sizes on purpose: RLA pools its hidden state with ceil_mode there.
ODD = (97, 131)
TINY_BACKBONE = {
    'model.backbone.base_channels': 8,
    'model.backbone.rla_channels': 8,
    'model.backbone.init_cfg': None,
}


def tiny_config(name: str, options: dict) -> Config:
    cfg = read_config(osp.join(ROOT, 'configs', name))
    cfg.merge_from_dict({**TINY_BACKBONE, **options})
    return cfg


def save_model(cfg: Config, tmp_path, name: str) -> tuple:
    """The config file and a checkpoint of its randomly initialized model."""
    torch.manual_seed(0)
    model = build_in_scope(cfg.model, cfg.default_scope)
    model.init_weights()
    config_file = str(tmp_path / f'{name}.py')
    checkpoint = str(tmp_path / f'{name}.pth')
    cfg.dump(config_file)
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return config_file, checkpoint


def tiny_fpn_seg(tmp_path) -> tuple:
    cfg = tiny_config('fpn_rla_r50_160k_ade20k.py', {
        'model.pretrained': None,
        'model.neck.in_channels': [32, 64, 128, 256],
        'model.neck.out_channels': 16,
        'model.decode_head.in_channels': [16] * 4,
        'model.decode_head.channels': 16,
    })
    # No resize to ADE20K's 512 short side: the images' own odd sizes.
    cfg.test_pipeline = [dict(type='LoadImageFromFile'),
                         dict(type='PackSegInputs')]
    return save_model(cfg, tmp_path, 'fpn_seg')


def test_compat_shims_apply_where_torch_needs_them():
    from rla_lab.utils import mmdeploy_compat
    applied = mmdeploy_compat.apply_mmdeploy_compat()
    import torch.onnx.symbolic_opset9 as opset9

    # MMDeploy's RoIAlign symbolic imports it (Faster/Mask R-CNN).
    assert hasattr(opset9, '_cast_Long')
    # MMDeploy's calls of torch.onnx.export get the TorchScript exporter.
    export = torch.onnx.export
    dynamo = inspect.signature(getattr(export, '__wrapped__', export)
                               ).parameters.get('dynamo')
    assert (dynamo is not None and dynamo.default is True) == (
        '_use_torchscript_exporter' in applied)
    if dynamo is not None:
        assert getattr(export, '_rla_mm_compat', False) == \
            (dynamo.default is True)
    assert mmdeploy_compat.apply_mmdeploy_compat() == applied  # once


def test_roi_align_exports_and_runs(tmp_path):
    """mmcv's RoIAlign through MMDeploy's symbolic (which needs the
    ``_cast_Long`` shim) gives ONNX Runtime mmcv's values."""
    import onnxruntime as ort
    from mmcv.ops import RoIAlign
    from mmdeploy.apis.onnx import export

    from rla_lab.utils.mmdeploy_compat import apply_mmdeploy_compat
    apply_mmdeploy_compat()

    class Pool(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.roi_align = RoIAlign((7, 7), 0.25, 0, aligned=True)

        def forward(self, feats, rois):
            return self.roi_align(feats, rois)

    deploy_cfg = Config.fromfile(
        osp.join(DEPLOY, 'instance-seg_onnxruntime_dynamic.py'))
    feats = torch.randn(2, 4, 23, 29)
    rois = torch.tensor([[0, 3., 5., 60., 40.], [1, 10., 2., 90., 80.]])
    export(Pool(), (feats, rois), str(tmp_path / 'roi'), backend='onnxruntime',
           context_info=dict(deploy_cfg=deploy_cfg),
           input_names=['feats', 'rois'], output_names=['out'],
           opset_version=11)
    session = ort.InferenceSession(str(tmp_path / 'roi.onnx'))
    got = session.run(None, {'feats': feats.numpy(), 'rois': rois.numpy()})
    np.testing.assert_allclose(got[0], Pool()(feats, rois).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_backbone_alone_exports_at_odd_sizes(tmp_path):
    cfg = tiny_config('retinanet_rla_r50.py', {
        'model.neck.in_channels': [32, 64, 128, 256],
        'model.neck.out_channels': 16,
    })
    model = export_backbone.build_feature_model(cfg, None, with_neck=True)
    onnx_file = str(tmp_path / 'features.onnx')
    names = export_backbone.export(model, onnx_file, (64, 64))
    assert len(names) == 5  # the FPN's levels
    found = export_backbone.relative_differences(
        model, onnx_file, [(64, 64), ODD, (2 * ODD[0] + 1, ODD[1])])
    worst = max(max(diffs) for diffs in found.values())
    assert worst < export_backbone.TOLERANCE, found


def test_segmentor_label_maps_agree(tmp_path):
    config_file, checkpoint = tiny_fpn_seg(tmp_path)
    args = deploy.parse_args([
        osp.join(DEPLOY, 'segmentation_onnxruntime_dynamic.py'),
        config_file, checkpoint, '--work-dir', str(tmp_path / 'out'),
        '--check', '2', '--shape', *map(str, ODD)])
    record = deploy.deploy(args)
    shapes = [image['shape'] for image in record['images']]
    assert shapes[0] == list(ODD) and shapes[1] != shapes[0]
    assert record['summary']['pixel_agreement'] >= 0.999
    assert osp.isfile(tmp_path / 'out' / 'check.json')


def test_bad_inputs_stop_clearly(tmp_path):
    config_file, checkpoint = tiny_fpn_seg(tmp_path)
    det_cfg = osp.join(DEPLOY, 'detection_onnxruntime_dynamic.py')
    seg_cfg = osp.join(DEPLOY, 'segmentation_onnxruntime_dynamic.py')
    with pytest.raises(SystemExit, match='No deploy config .* shipped ones'):
        deploy.main(['configs/deploy/nope.py', config_file, checkpoint])
    with pytest.raises(SystemExit, match='deploys mmdet models, but .* '
                       'mmseg config'):
        deploy.main([det_cfg, config_file, checkpoint])
    with pytest.raises(SystemExit, match='exports masks, but .* no mask'):
        deploy.main([osp.join(DEPLOY, 'instance-seg_onnxruntime_dynamic.py'),
                     osp.join(ROOT, 'configs', 'retinanet_rla_r50.py'),
                     checkpoint])

    # Another model's checkpoint: the keys that do not fit, not a warning.
    from mmdeploy.apis import build_task_processor
    cfg = read_config(config_file)
    processor = build_task_processor(cfg, Config.fromfile(seg_cfg), 'cpu')
    other = str(tmp_path / 'other.pth')
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    state['decode_head.conv_seg.weight'] = torch.zeros(3, 16, 1, 1)
    torch.save({'state_dict': state}, other)
    with pytest.raises(CheckpointMismatchError, match='shape mismatches'):
        deploy.load_model(processor, other, config_file)

    # A whole training checkpoint loads weights-only (message hub, numpy).
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('deploy_test')
    hub.update_scalar('train/loss', np.float64(1.5))
    hub.update_info('eta', np.float64(12.0))
    whole = str(tmp_path / 'iter_10.pth')
    torch.save({'meta': {'iter': 10}, 'state_dict': state | {
        'decode_head.conv_seg.weight':
        torch.load(checkpoint, weights_only=True)['state_dict']
        ['decode_head.conv_seg.weight']},
        'message_hub': hub.state_dict(),
        'optimizer': {'state': {}, 'param_groups': [{'lr': 0.01}]}}, whole)
    model = deploy.load_model(processor, whole, config_file)
    assert not model.training


def test_shipped_deploy_configs_follow_test_cfg():
    """MMDeploy's NMS with the shipped configs does what each shipped
    detector's test_cfg asks; stock MMDeploy values would not."""
    for deploy_name, model_name in (
            ('detection_onnxruntime_dynamic.py', 'faster_rcnn_rla_r50.py'),
            ('detection_onnxruntime_dynamic.py', 'retinanet_eca_rla_r101.py'),
            ('instance-seg_onnxruntime_static-800x1344.py',
             'mask_rcnn_rla_r101.py')):
        deploy_cfg = Config.fromfile(osp.join(DEPLOY, deploy_name))
        model_cfg = read_config(osp.join(ROOT, 'configs', model_name))
        assert deploy.post_processing_departures(deploy_cfg,
                                                 model_cfg) == []
    # MMDeploy's own defaults: an RPN objectness floor, 200 boxes a class,
    # a top-5000 across levels.
    deploy_cfg.codebase_config.post_processing.update(
        score_threshold=0.05, max_output_boxes_per_class=200, pre_top_k=5000)
    found = deploy.post_processing_departures(deploy_cfg, model_cfg)
    assert any(d.startswith('rpn: no score_thr') for d in found)
    assert any('rpn: max_output_boxes_per_class=200' in d for d in found)
    assert any(d.startswith('pre_top_k=5000') for d in found)


@pytest.mark.parametrize('size', [(4, 5), (13, 17), (2, 3)])
def test_adaptive_avg_pool_by_sums_is_pytorchs(size):
    """UPerNet's pyramid pooling (bins 1, 2, 3, 6) as exported for ONNX
    Runtime, also where a map is smaller than the bins."""
    from rla_lab.utils.onnx_export import adaptive_avg_pool2d_by_sums
    x = torch.randn(2, 3, *size)
    for bins in (1, 2, 3, 6):
        torch.testing.assert_close(
            adaptive_avg_pool2d_by_sums(x, (bins, bins)),
            torch.nn.functional.adaptive_avg_pool2d(x, bins),
            rtol=1e-5, atol=1e-6)
