"""tools/analysis/get_flops.py: the paper's cost figures and detector
breakdowns."""
from types import ModuleType

import pytest
from mmengine.config import Config

from tools.analysis import get_flops as get_flops_module

from .tool_helpers import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs'


@pytest.fixture
def get_flops() -> ModuleType:
    return get_flops_module


def table_row(output: str, model: str) -> str:
    (row, ) = [line for line in output.splitlines()
               if line.startswith(f'| {model} |')]
    return row


def test_classifier_matches_the_paper(get_flops: ModuleType, capsys):
    """The paper's RLA-ResNet-50 "24.67M" and "4.17G" are 25.87M
    parameters and 4.477 GMACs at 224x224, in units of 2^20 and 2^30 (the
    count includes BatchNorm; 4.478 here rounds the state norms' 0.0007 G
    up).

    The count needs the functional convs on RLA's weight slices.
    """
    get_flops.main([
        str(CONFIGS / 'imagenet' / 'r50_8xb32_in1k.py'),
        str(CONFIGS / 'imagenet' / 'rla_r50_8xb32_in1k.py'),
        str(CONFIGS / 'faster_rcnn_r50.py'),
        str(CONFIGS / 'faster_rcnn_rla_r50.py'), '--mode', 'classifier'
    ])
    out = capsys.readouterr().out
    assert 'input 1x3x224x224' in out
    # The MMPretrain classifiers of configs/imagenet/, as built ...
    assert table_row(out, 'rla_r50_8xb32_in1k') == (
        '| rla_r50_8xb32_in1k | total | 25.87 | 24.67 | 4.478 | 4.170 '
        '| +1.2% | +8.9% |')
    # (MMPretrain's GlobalAveragePooling counts its 0.0001 G additions.)
    assert table_row(out, 'r50_8xb32_in1k') == (
        '| r50_8xb32_in1k | total | 25.56 | 24.37 | 4.112 | 3.829 |  |  |')
    # ... and the same classifier around a detection config's backbone.
    assert table_row(out, 'faster_rcnn_rla_r50') == (
        '| faster_rcnn_rla_r50 | total | 25.87 | 24.67 | 4.478 | 4.170 '
        '| +1.2% | +8.9% |')
    assert table_row(out, 'faster_rcnn_r50') == (
        '| faster_rcnn_r50 | total | 25.56 | 24.37 | 4.112 | 3.829 |  |  |')


def test_backbone_alone(get_flops: ModuleType, capsys):
    """The detection backbone has no classifier, and skips the last RLA
    update, which no stage output depends on."""
    get_flops.main([
        str(CONFIGS / 'mask_rcnn_rla_r50.py'), '--mode', 'backbone',
        '--shape', '224'
    ])
    row = table_row(capsys.readouterr().out, 'mask_rcnn_rla_r50')
    assert row.startswith('| mask_rcnn_rla_r50 | total | 23.79 | 22.69 '
                          '| 4.472 | 4.165 |')


def test_dilated_segmentation_backbones(get_flops: ModuleType, capsys):
    """mmseg configs build in their own scope; at output stride 8 the last
    stages (and their h) run at 1/8 resolution."""
    get_flops.main([
        str(CONFIGS / 'deeplabv3plus_r50_d8_80k_cityscapes.py'),
        str(CONFIGS / 'deeplabv3plus_rla_r50_d8_80k_cityscapes.py'),
        '--mode', 'backbone', '--shape', '64'
    ])
    out = capsys.readouterr().out
    base = table_row(out, 'deeplabv3plus_r50_d8_80k_cityscapes').split('|')
    rla = table_row(out,
                    'deeplabv3plus_rla_r50_d8_80k_cityscapes').split('|')
    assert float(base[3]) == 23.51  # mmseg's ResNet-50, no classifier
    assert float(rla[3]) == 23.79
    assert float(rla[5]) > float(base[5]) > 0


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


def test_mobilenetv2_classifier_matches_the_paper(get_flops: ModuleType,
                                                  capsys):
    """The paper's RLA-MobileNetV2 "3.46M" parameters and "351.8M" FLOPs,
    in units of 2^20: 0.344 G in units of 2^30 here (368.8M multiply-adds
    with the norms, 351.75 x 2^20)."""
    get_flops.main([
        str(CONFIGS / 'imagenet' / 'mobilenetv2_1xb96_in1k.py'),
        str(CONFIGS / 'imagenet' / 'rla_mobilenetv2_1xb96_in1k.py'),
        '--mode', 'classifier'
    ])
    out = capsys.readouterr().out
    assert table_row(out, 'rla_mobilenetv2_1xb96_in1k') == (
        '| rla_mobilenetv2_1xb96_in1k | total | 3.62 | 3.46 | 0.369 | 0.344 '
        '| +3.4% | +17.4% |')
