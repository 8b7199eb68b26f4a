"""Reading the runs' logs and writing the comparison table."""
import csv
import io
import json
from pathlib import Path
from types import ModuleType
from typing import List

import pytest


def write_lines(path: Path, records: List[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))


def test_curves_merge_resumed_runs(pair_report: ModuleType, tmp_path: Path):
    """A resumed training logs again from its checkpoint; validations sit
    at the iteration they followed, whatever their own step says."""
    write_lines(tmp_path / '20240101_000000' / 'vis_data' / 'scalars.json', [
        dict(loss=3.0, iter=50, step=50),
        dict(loss=2.0, epoch=1, iter=100, step=100),
        {'coco/bbox_mAP': 0.1, 'step': 1},
        dict(loss=1.9, epoch=2, iter=150, step=150),
    ])
    write_lines(tmp_path / '20240102_000000' / 'vis_data' / 'scalars.json', [
        dict(loss=1.8, epoch=2, iter=150, step=150),
        dict(loss=1.5, epoch=2, iter=200, step=200),
        {'coco/bbox_mAP': 0.2, 'step': 2},
    ])
    (tmp_path / 'not_a_run').mkdir()
    curves = pair_report.read_curves(str(tmp_path))
    assert curves.loss == [(50, 3.0), (100, 2.0), (150, 1.8), (200, 1.5)]
    assert curves.box_ap == [(100, pytest.approx(10.0)),
                             (200, pytest.approx(20.0))]


def test_test_metrics_of_the_newest_run(pair_report: ModuleType,
                                        tmp_path: Path):
    for stamp, ap in (('20240101_000000', 0.1), ('20240102_000000', 0.3)):
        write_lines(tmp_path / stamp / f'{stamp}.json',
                    [{'coco/bbox_mAP': ap, 'coco/bbox_mAP_s': -1.0,
                      'time': 0.5}])
    metrics = pair_report.read_test_metrics(str(tmp_path))
    assert metrics == {'bbox_mAP': 0.3, 'bbox_mAP_s': -1.0}
    assert pair_report.to_percent(metrics) == {'bbox_mAP': 30.0}
    with pytest.raises(FileNotFoundError, match='did tools/test.py fail'):
        pair_report.read_test_metrics(str(tmp_path / 'empty'))


def test_table_rows_and_formats(pair_report: ModuleType):
    results = [
        pair_report.PairResult(
            'Mask R-CNN', 'R-50', 'RLA-R-50',
            baseline=dict(bbox_mAP=38.2, bbox_mAP_50=58.8, segm_mAP=34.7),
            rla=dict(bbox_mAP=39.6, bbox_mAP_50=60.6, segm_mAP=35.5),
            paper=dict(bbox_mAP=39.5, bbox_mAP_50=60.1, bbox_mAP_75=43.3)),
        # Still training: its rows are pending, the paper's row is there.
        pair_report.PairResult(
            'RetinaNet', 'R-101', 'RLA-R-101',
            baseline=dict(bbox_mAP=38.5), paper=dict(bbox_mAP=40.3)),
    ]
    rows = pair_report.table_rows(results)
    assert [(r.detector, r.backbone, r.source) for r in rows] == [
        ('Mask R-CNN', 'R-50', 'ours'),
        ('Mask R-CNN', 'RLA-R-50', 'ours'),
        ('Mask R-CNN', 'RLA-R-50 - R-50', 'ours, delta'),
        ('Mask R-CNN', 'RLA-R-50', 'paper'),
        ('RetinaNet', 'R-101', 'ours'),
        ('RetinaNet', 'RLA-R-101', 'ours'),
        ('RetinaNet', 'RLA-R-101 - R-101', 'ours, delta'),
        ('RetinaNet', 'RLA-R-101', 'paper'),
    ]
    assert rows[2].values == dict(bbox_mAP=1.4, bbox_mAP_50=1.8,
                                  segm_mAP=0.8)

    markdown = pair_report.format_markdown(rows).splitlines()
    assert markdown[4] == ('| Mask R-CNN | RLA-R-50 - R-50 | ours, delta '
                           '| +1.4 | +1.8 | - | - | - | - | +0.8 |')
    assert markdown[5] == ('| Mask R-CNN | RLA-R-50 | paper | 39.5 | 60.1 '
                           '| 43.3 | - | - | - | - |')
    assert markdown[7].endswith('| ... | ... | ... | ... | ... | ... | ... |')
    assert any('mmdet 2.x' in line for line in markdown)

    parsed = list(csv.DictReader(io.StringIO(
        pair_report.format_csv(rows))))
    assert parsed[2]['bbox_mAP'] == '1.4'
    assert parsed[2]['bbox_mAP_75'] == ''
    assert parsed[5]['bbox_mAP'] == ''
    assert parsed[7]['bbox_mAP'] == '40.3'
