"""The ImageNet classifiers as users run them: MMPretrain's own tools on our
config, our tools on the authors' released files, and a pretrained
classifier's backbone initialising the shipped detector and segmentor.

The configs are the repository's (``configs/imagenet/``), shrunk through
``--cfg-options`` (:mod:`.shipped`) and reading a 4-image ImageNet layout.
"""
from pathlib import Path
from typing import Dict

import mmpretrain
import pytest
import torch

import rla_mm  # noqa: F401  (torch.load of mmengine's checkpoints below)
from rla_lab.utils.runs import latest_run_dir, metrics_file, read_json_lines

from .shipped import DATASETS, SHIPPED, options_for, write_imagenet
from .tool_helpers import REPO_ROOT, TOOLS, run_tool

MMPRETRAIN_TOOLS = Path(mmpretrain.__file__).parent / '.mim' / 'tools'
IMAGENET = SHIPPED['imagenet']


def imagenet_options(data_root: Path) -> list:
    return options_for(IMAGENET, data_root)


@pytest.fixture(scope='module')
def imagenet(tmp_path_factory) -> Path:
    return write_imagenet(tmp_path_factory.mktemp('imagenet'))


@pytest.fixture(scope='module')
def pretrained(imagenet: Path, tmp_path_factory) -> Path:
    """Our RLA-R50 ImageNet config trained by MMPretrain's own train.py."""
    work_dir = tmp_path_factory.mktemp('pretrain') / 'work'
    run_tool([
        'python', MMPRETRAIN_TOOLS / 'train.py',
        REPO_ROOT / IMAGENET.config, '--work-dir', work_dir,
        '--cfg-options', *imagenet_options(imagenet)
    ], cwd=work_dir.parent)
    return work_dir / 'epoch_2.pth'


def test_mmpretrain_test_tool_reports_top1_and_top5(imagenet, pretrained,
                                                    tmp_path):
    proc = run_tool([
        'python', MMPRETRAIN_TOOLS / 'test.py', REPO_ROOT / IMAGENET.config,
        pretrained, '--work-dir', tmp_path / 'test', '--cfg-options',
        *imagenet_options(imagenet)
    ], cwd=tmp_path)
    assert 'accuracy/top1' in proc.stdout + proc.stderr
    assert 'accuracy/top5' in proc.stdout + proc.stderr


def _save_released(checkpoint: Path, path: Path, num_classes: int = 1000
                   ) -> Path:
    """``checkpoint``'s classifier written as the authors' files are: the
    backbone at the top level, bn2 and fc, all under ``module.``."""
    state = torch.load(checkpoint, map_location='cpu',
                       weights_only=True)['state_dict']
    released = {'module.' + k.split('.', 1)[1]: v for k, v in state.items()}
    released['module.fc.weight'] = released['module.fc.weight'][:num_classes]
    released['module.fc.bias'] = released['module.fc.bias'][:num_classes]
    torch.save({'epoch': 120, 'state_dict': released,
                'best_acc1': torch.tensor(1.0)}, path)
    return path


def _test_metrics(work_dir: Path) -> Dict[str, float]:
    (record, ) = read_json_lines(metrics_file(latest_run_dir(work_dir)))
    return record


def test_released_file_evaluates_as_it_is(imagenet, pretrained, tmp_path):
    """The authors' layout through our test tool gives the metrics of the
    same weights in MMPretrain's layout."""
    released = _save_released(pretrained, tmp_path / 'rla_2283.pth.tar')
    metrics = []
    for checkpoint in (pretrained, released):
        work_dir = tmp_path / checkpoint.stem
        run_tool([
            'python', TOOLS / 'test.py', REPO_ROOT / IMAGENET.config,
            checkpoint, '--work-dir', work_dir, '--cfg-options',
            *imagenet_options(imagenet)
        ], cwd=tmp_path)
        metrics.append(_test_metrics(work_dir))
    for key in ('accuracy/top1', 'accuracy/top5'):
        assert metrics[0][key] == metrics[1][key]


def test_released_file_of_another_head_stops_clearly(imagenet, pretrained,
                                                     tmp_path):
    released = _save_released(pretrained, tmp_path / 'rla_100.pth.tar',
                              num_classes=100)
    proc = run_tool([
        'python', TOOLS / 'test.py', REPO_ROOT / IMAGENET.config, released,
        '--work-dir', tmp_path / 'test', '--cfg-options',
        *imagenet_options(imagenet)
    ], cwd=tmp_path, check=False)
    assert proc.returncode != 0
    assert "head has 100 classes, the model 1000" in proc.stderr
    assert 'Traceback' not in proc.stderr


@pytest.mark.parametrize('family', ['faster_rcnn', 'fpn'])
def test_pretrained_classifier_initialises_the_shipped_config(
        family, pretrained, tmp_path):
    """Pretrain, then detect: the backbone of the trained classifier loads
    strictly (prefix ``backbone.``) into the shipped detector and
    segmentor, which then train. With the whole backbone frozen, its
    trained weights and statistics are the loaded ones."""
    shipped = SHIPPED[family]
    root = DATASETS[shipped.dataset].write(tmp_path / shipped.dataset)
    options = [o for o in options_for(shipped, root)
               if o != 'model.backbone.init_cfg=None']
    if family == 'faster_rcnn':  # 4 iterations
        options.append('train_cfg.max_epochs=1')
    work_dir = tmp_path / 'work'
    run_tool([
        'python', TOOLS / 'train.py', REPO_ROOT / shipped.config,
        '--work-dir', work_dir, '--cfg-options', *options,
        f'model.backbone.init_cfg.checkpoint={pretrained}',
        'model.backbone.init_cfg.prefix=backbone.',
        'model.backbone.frozen_stages=4'
    ], cwd=tmp_path)
    (trained, ) = sorted(work_dir.glob('*.pth'))[-1:]
    loaded = torch.load(pretrained, map_location='cpu',
                        weights_only=True)['state_dict']
    got = torch.load(trained, map_location='cpu',
                     weights_only=True)['state_dict']
    weights = [k for k in loaded if k.startswith('backbone.')]
    assert len(weights) > 300
    for key in weights:
        torch.testing.assert_close(got[key], loaded[key], rtol=0, atol=0)
