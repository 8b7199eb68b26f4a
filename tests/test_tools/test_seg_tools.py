"""tools/train.py and tools/test.py on MMSegmentation configs.

A tiny RLA-R50 EncoderDecoder on 4 images in mmseg's standard layout, read
by mmseg's own BaseSegDataset and scored by its IoUMetric. Resuming and
the missing-weights preflight are tested with the detection configs, in
test_resume.py and test_train_test_tools.py, the DDP run in
test_distributed.py.
"""
import sys
from pathlib import Path

import pytest

from rla_lab.utils import codebases
from rla_lab.utils.cli import load_config
from rla_lab.utils.codebases import CodebaseNotInstalledError
from rla_lab.utils.runs import read_scalars, read_test_metrics

from .tool_helpers import TOOLS, TrainedRun, run_tool

SEG_METRICS = ('aAcc', 'mIoU', 'mAcc')


def test_seg_train_logs_every_iteration(seg_run: TrainedRun):
    assert seg_run.checkpoint.is_file()
    steps = [r['step'] for r in read_scalars(seg_run.work_dir)]
    assert steps == [1, 2, 3]


def test_seg_test_tool(seg_run: TrainedRun, tmp_path: Path):
    """mIoU from mmseg's IoUMetric; --out keeps the label maps as PNGs,
    --show-dir paints every image into the run's folder."""
    work_dir = tmp_path / 'test_work_dir'
    label_maps = tmp_path / 'label_maps'
    proc = run_tool([
        'python', TOOLS / 'test.py', seg_run.config, seg_run.checkpoint,
        '--work-dir', work_dir, '--out', label_maps, '--show-dir', 'painted'
    ], cwd=tmp_path)
    assert 'mIoU' in proc.stdout + proc.stderr
    metrics = read_test_metrics(work_dir)
    for name in SEG_METRICS:
        assert 0 <= metrics[name] <= 100, name
    assert len(list(label_maps.glob('*.png'))) == 4
    assert len(list(work_dir.glob('*/painted/*.png'))) == 4


def test_seg_test_time_aug(seg_run: TrainedRun, tmp_path: Path):
    """--tta runs the test pipeline with and without a flip (SegTTAModel)."""
    work_dir = tmp_path / 'tta_work_dir'
    run_tool([
        'python', TOOLS / 'test.py', seg_run.config, seg_run.checkpoint,
        '--work-dir', work_dir, '--tta'
    ], cwd=tmp_path)
    assert 0 <= read_test_metrics(work_dir)['mIoU'] <= 100


def _hide_mmseg(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make mmseg look not installed: to mmengine's ``mmseg::`` lookup and
    to ``import``."""
    monkeypatch.setattr('mmengine.config.config.is_installed',
                        lambda package: package != 'mmsegmentation')
    for name in [m for m in sys.modules if m.split('.')[0] == 'mmseg']:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, 'mmseg', None)


@pytest.mark.parametrize('inherits', [True, False])
def test_seg_config_without_mmseg(tmp_path: Path, monkeypatch, inherits):
    """Inheriting from 'mmseg::...' fails inside Config.fromfile, a full
    config with default_scope='mmseg' at import; both say what to
    install."""
    config = tmp_path / 'seg.py'
    config.write_text("_base_ = 'mmseg::_base_/default_runtime.py'\n"
                      if inherits else "default_scope = 'mmseg'\n")
    _hide_mmseg(monkeypatch)
    with pytest.raises(CodebaseNotInstalledError) as error:
        load_config(str(config))
    message = str(error.value)
    assert str(config) in message and 'MMSegmentation' in message
    # The version pinned in requirements/runtime.txt, and mmseg's extras.
    assert 'pip install mmsegmentation==' in message
    assert message.endswith(' ftfy regex')

    # The tools stop with that message, without a traceback.
    from tools import train
    monkeypatch.setattr(sys, 'argv', ['train.py', str(config)])
    with pytest.raises(SystemExit) as exit_info:
        train.main()
    assert str(exit_info.value) == message


def test_pinned_requirements(tmp_path: Path, monkeypatch):
    requirements = tmp_path / 'runtime.txt'
    requirements.write_text('# the stack\nmmsegmentation-extra==9\n'
                            'mmsegmentation>=1.2,<1.3  # pinned\nftfy\n')
    monkeypatch.setattr(codebases, 'REQUIREMENTS_FILE', str(requirements))
    assert codebases.pinned_requirements(
        ['mmsegmentation', 'ftfy', 'regex']) == [
            'mmsegmentation>=1.2,<1.3', 'ftfy', 'regex'
        ]
    # Installed from a wheel, without the checkout's requirements.
    monkeypatch.setattr(codebases, 'REQUIREMENTS_FILE',
                        str(tmp_path / 'absent.txt'))
    assert codebases.install_command(codebases.CODEBASES['mmseg']) == (
        'pip install mmsegmentation ftfy regex')
