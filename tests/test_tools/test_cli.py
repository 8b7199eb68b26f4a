"""The config edits of the tools' command-line options."""
import os.path as osp
from pathlib import Path

import pytest
import torch.distributed as torch_dist
from mmengine.config import Config

from rla_mm.utils.cli import (apply_resume, apply_test_time_aug,
                              default_work_dir, enable_amp,
                              enable_auto_scale_lr, init_cpu_distributed,
                              load_config, shutdown_distributed)


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
