"""The config edits of the tools' command-line options."""
import os.path as osp
from pathlib import Path

import pytest
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.hooks import LoggerHook
from mmengine.registry import HOOKS, DefaultScope

from rla_lab.utils.cli import (apply_output, apply_resume, apply_test_time_aug,
                               default_work_dir, enable_amp,
                               enable_auto_scale_lr, enable_visualization,
                               init_cpu_distributed, load_config,
                               shutdown_distributed, write_test_metrics_once)
from rla_mm.engine import MainProcessLoggerHook, hooks


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / 'mask_rcnn_tiny.py'
    path.write_text(
        "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02))\n"
        'auto_scale_lr = dict(enable=False, base_batch_size=16)\n'
        "env_cfg = dict(dist_cfg=dict(backend='nccl'))\n"
        'test_dataloader = dict(dataset=dict(pipeline=[\n'
        "    dict(type='LoadImageFromFile'),\n"
        "    dict(type='PackDetInputs', meta_keys=('img_id', )),\n"
        ']))\n')
    return path


def test_default_work_dir():
    assert default_work_dir('configs/rla/mask-rcnn_rla50.py') == osp.join(
        './work_dirs', 'mask-rcnn_rla50')


def test_load_config_work_dir_priority(config_file: Path):
    assert load_config(str(config_file)).work_dir == default_work_dir(
        str(config_file))
    from_file = load_config(
        str(config_file), cfg_options={'work_dir': 'from_options'})
    assert from_file.work_dir == 'from_options'
    from_cli = load_config(
        str(config_file),
        cfg_options={'work_dir': 'from_options'},
        work_dir='from_cli')
    assert from_cli.work_dir == 'from_cli'


def test_load_config_options_and_launcher(config_file: Path):
    cfg = load_config(
        str(config_file),
        cfg_options={'optim_wrapper.optimizer.lr': 0.01},
        launcher='pytorch')
    assert cfg.optim_wrapper.optimizer.lr == 0.01
    assert cfg.launcher == 'pytorch'


def test_enable_amp(config_file: Path):
    cfg = Config.fromfile(config_file)
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'


def test_enable_auto_scale_lr(config_file: Path):
    cfg = Config.fromfile(config_file)
    enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=16)
    with pytest.raises(ValueError, match='base_batch_size'):
        enable_auto_scale_lr(Config(dict(optim_wrapper=cfg.optim_wrapper)))


@pytest.mark.parametrize('resume, expected', [
    (None, (False, 'pretrained.pth')),
    ('auto', (True, None)),
    ('work_dirs/x/iter_2.pth', (True, 'work_dirs/x/iter_2.pth')),
])
def test_apply_resume(resume, expected):
    cfg = Config(dict(resume=False, load_from='pretrained.pth'))
    apply_resume(cfg, resume)
    assert (cfg.resume, cfg.load_from) == expected


def test_apply_test_time_aug(config_file: Path):
    cfg = Config.fromfile(config_file)
    cfg.model = dict(type='MaskRCNN')
    apply_test_time_aug(cfg)
    assert cfg.model.type == 'DetTTAModel'
    assert cfg.model.module == dict(type='MaskRCNN')
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[0].type == 'LoadImageFromFile'
    tta = pipeline[-1]
    assert tta.type == 'TestTimeAug'
    assert [t.prob for t in tta.transforms[0]] == [1., 0.]
    # The packer keeps the flip keys DetTTAModel needs.
    assert tta.transforms[1] == [dict(type='PackDetInputs')]


def test_init_cpu_distributed(config_file: Path, monkeypatch):
    monkeypatch.setattr('torch.cuda.is_available', lambda: False)
    cfg = load_config(str(config_file))
    init_cpu_distributed(cfg)  # launcher 'none': nothing to do
    assert 'model_wrapper_cfg' not in cfg
    cfg = load_config(str(config_file), launcher='pytorch')
    with pytest.raises(ValueError, match='backend=gloo'):
        init_cpu_distributed(cfg)


def test_shutdown_distributed(tmp_path: Path):
    shutdown_distributed()  # no process group: nothing to do
    torch_dist.init_process_group(
        'gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
        world_size=1)
    assert torch_dist.is_initialized()
    shutdown_distributed()
    assert not torch_dist.is_initialized()


@pytest.fixture
def seg_config() -> Config:
    """The parts of an mmseg config that the test options edit."""
    return Config(
        dict(
            default_scope='mmseg',
            model=dict(type='EncoderDecoder'),
            test_dataloader=dict(dataset=dict(pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations'),
                dict(type='PackSegInputs'),
            ])),
            test_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
            default_hooks=dict(
                visualization=dict(type='SegVisualizationHook')),
            visualizer=dict(
                type='SegLocalVisualizer',
                vis_backends=[dict(type='LocalVisBackend')])))


def test_apply_test_time_aug_segmentation(seg_config: Config):
    apply_test_time_aug(seg_config)
    assert seg_config.model.type == 'SegTTAModel'
    assert seg_config.model.module == dict(type='EncoderDecoder')
    tta = seg_config.test_dataloader.dataset.pipeline[-1]
    assert tta.type == 'TestTimeAug'
    # SegTTAModel keeps the first pass's ground truth: it must be unflipped.
    assert [t.prob for t in tta.transforms[0]] == [0., 1.]
    assert tta.transforms[1] == [dict(type='PackSegInputs')]


def test_apply_test_time_aug_rejects_unknown_scope(seg_config: Config):
    seg_config.default_scope = 'mmocr'
    with pytest.raises(ValueError, match="'mmdet', 'mmseg', 'mmpretrain'"):
        apply_test_time_aug(seg_config)


def test_apply_test_time_aug_for_a_classifier():
    """MMPretrain's flip TTA, averaging the class scores, as its own test
    tool makes it."""
    cfg = Config.fromfile('configs/imagenet/rla_r50_8xb32_in1k.py')
    model = cfg.model
    apply_test_time_aug(cfg)
    assert cfg.model == dict(type='AverageClsScoreTTA', module=model)
    (tta, ) = cfg.test_dataloader.dataset.pipeline[-1:]
    assert tta.type == 'TestTimeAug'
    assert [t.prob for t in tta.transforms[0]] == [0., 1.]
    assert tta.transforms[1] == [dict(type='PackInputs')]


def test_apply_output(config_file: Path, seg_config: Config):
    det_config = Config.fromfile(config_file)
    det_config.test_evaluator = dict(type='CocoMetric')
    apply_output(det_config, 'preds.pkl')
    assert det_config.test_evaluator == [
        dict(type='CocoMetric'),
        dict(type='DumpDetResults', out_file_path='preds.pkl')
    ]
    with pytest.raises(ValueError, match='.pkl or .pickle'):
        apply_output(det_config, 'preds')

    apply_output(seg_config, 'label_maps')
    assert seg_config.test_evaluator.output_dir == 'label_maps'
    with pytest.raises(ValueError, match='folder'):
        apply_output(seg_config, 'preds.pkl')
    seg_config.test_evaluator = dict(type='CityscapesMetric')
    with pytest.raises(ValueError, match='IoUMetric'):
        apply_output(seg_config, 'label_maps')


def test_enable_visualization_segmentation(seg_config: Config):
    enable_visualization(seg_config, show=False, wait_time=2,
                         show_dir='painted')
    hook = seg_config.default_hooks.visualization
    assert (hook.draw, hook.interval) == (True, 1)
    assert 'show' not in hook
    # <run dir>/vis_data/../painted: the run dir, as mmdet's hook does.
    (backend, ) = seg_config.visualizer.vis_backends
    assert backend.img_save_dir == osp.join('..', 'painted')
    enable_visualization(seg_config, show=True, wait_time=3, show_dir=None)
    assert (hook.show, hook.wait_time) == (True, 3)
    del seg_config.default_hooks['visualization']
    with pytest.raises(RuntimeError, match='SegVisualizationHook'):
        enable_visualization(seg_config, show=True, wait_time=2,
                             show_dir=None)


@pytest.mark.parametrize(
    'logger_type', ['LoggerHook', 'mmengine.LoggerHook', LoggerHook])
@pytest.mark.parametrize('scope', ['mmdet', 'mmseg'])
def test_write_test_metrics_once(scope: str, logger_type):
    cfg = Config(
        dict(
            default_scope=scope,
            default_hooks=dict(
                logger=dict(type=logger_type, interval=7),
                timer=dict(type='IterTimerHook'))))
    write_test_metrics_once(cfg)
    logger = cfg.default_hooks.logger
    assert logger == dict(type='MainProcessLoggerHook', interval=7)
    assert cfg.default_hooks.timer.type == 'IterTimerHook'
    # The config's codebase finds the hook by name.
    with DefaultScope.overwrite_default_scope(scope):
        hook = HOOKS.build(logger)
    assert isinstance(hook, MainProcessLoggerHook)
    assert hook.interval == 7


@HOOKS.register_module(force=True)
class OtherLoggerHook(LoggerHook):
    """A logger of a config's own, registered in mmengine's scope."""


@pytest.mark.parametrize('logger_type', [
    'MyLoggerHook', 'OtherLoggerHook', 'mmengine.OtherLoggerHook',
    OtherLoggerHook, 'MainProcessLoggerHook'])
def test_write_test_metrics_once_keeps_custom_loggers(logger_type):
    cfg = Config(dict(default_hooks=dict(logger=dict(type=logger_type))))
    write_test_metrics_once(cfg)
    assert cfg.default_hooks.logger.type == logger_type
    no_logger = Config(dict(default_hooks=dict()))
    write_test_metrics_once(no_logger)
    assert 'logger' not in no_logger.default_hooks


@pytest.mark.parametrize('main, writes', [(True, 1), (False, 0)])
def test_main_process_logger_hook(monkeypatch, main: bool, writes: int):
    written = []
    monkeypatch.setattr(
        LoggerHook,
        'after_test_epoch',
        lambda self, runner, metrics=None: written.append(metrics))
    monkeypatch.setattr(hooks, 'is_main_process', lambda: main)
    MainProcessLoggerHook().after_test_epoch(
        runner=None, metrics={'mIoU': 1.0})
    assert written == [{'mIoU': 1.0}] * writes
