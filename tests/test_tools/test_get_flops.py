"""tools/analysis/get_flops.py: the paper's cost figures and detector
breakdowns."""
import importlib.util
from types import ModuleType

import pytest
from mmengine.config import Config

from .tool_helpers import REPO_ROOT, TOOLS

CONFIGS = REPO_ROOT / 'configs'


@pytest.fixture(scope='module')
def get_flops() -> ModuleType:
    path = TOOLS / 'analysis' / 'get_flops.py'
    spec = importlib.util.spec_from_file_location('get_flops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table_row(output: str, model: str) -> str:
    (row, ) = [line for line in output.splitlines()
               if line.startswith(f'| {model} |')]
    return row


def test_classifier_matches_the_paper(get_flops: ModuleType, capsys):
    """The paper's RLA-ResNet-50 "24.67M" and "4.17G" are 25.87M
    parameters and 4.477 GMACs at 224x224, in units of 2^20 and 2^30.

    The count needs the functional convs on RLA's weight slices (the
    eval-mode state norms, folded into a conv, add nothing of their own).
    What runs is 4.470 G: the first block skips the columns of conv1 that
    read the zero initial state, 56 * 56 * 32 * 64 = 0.0064 G, which the
    paper's figure includes (4.470 + 0.0064 = 4.477).
    """
    get_flops.main([
        str(CONFIGS / 'faster_rcnn_r50.py'),
        str(CONFIGS / 'faster_rcnn_rla_r50.py'), '--mode', 'classifier'
    ])
    out = capsys.readouterr().out
    assert 'input 1x3x224x224' in out
    assert table_row(out, 'faster_rcnn_rla_r50') == (
        '| faster_rcnn_rla_r50 | total | 25.87 | 24.67 | 4.470 | 4.163 '
        '| +1.2% | +8.7% |')
    assert table_row(out, 'faster_rcnn_r50') == (
        '| faster_rcnn_r50 | total | 25.56 | 24.37 | 4.111 | 3.829 |  |  |')


def test_backbone_alone(get_flops: ModuleType, capsys):
    """The detection backbone has no classifier, and skips the last RLA
    update, which no stage output depends on."""
    get_flops.main([
        str(CONFIGS / 'mask_rcnn_rla_r50.py'), '--mode', 'backbone',
        '--shape', '224'
    ])
    row = table_row(capsys.readouterr().out, 'mask_rcnn_rla_r50')
    assert row.startswith('| mask_rcnn_rla_r50 | total | 23.79 | 22.69 '
                          '| 4.465 | 4.158 |')


@pytest.mark.parametrize('name,parts', [
    ('mask_rcnn_rla_r50', ('backbone', 'neck', 'rpn_head', 'roi_head')),
    ('retinanet_eca_rla_r50', ('backbone', 'neck', 'bbox_head')),
])
def test_detector_breakdown(get_flops: ModuleType, name: str, parts: tuple):
    shape = (64, 96)
    cfg = Config.fromfile(str(CONFIGS / f'{name}.py'))
    costs, _ = get_flops.count(
        get_flops.build_model(cfg, 'detector', shape), shape)
    assert tuple(costs)[1:] == parts
    assert costs['total'].params == sum(costs[p].params for p in parts)
    assert costs['total'].flops == sum(costs[p].flops for p in parts)
    # The backbone costs the same inside the detector as alone.
    backbone, _ = get_flops.count(
        get_flops.build_model(cfg, 'backbone', shape), shape)
    assert costs['backbone'] == backbone['total']


def test_shape_arguments(get_flops: ModuleType):
    assert get_flops.parse_args(['c.py']).shape == (800, 1280)
    assert get_flops.parse_args(['c.py', '--mode', 'backbone']).shape == (
        224, 224)
    assert get_flops.parse_args(['c.py', '--shape', '320']).shape == (320,
                                                                      320)
    with pytest.raises(SystemExit):
        get_flops.parse_args(['c.py', '--shape', '1', '2', '3'])
