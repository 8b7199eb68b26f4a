"""Reading the runs' logs and writing the paired comparison."""
import csv
import io
import json
from pathlib import Path
from typing import List

import pytest

from rla_lab.paper.catalog import DETECTION, SEGMENTATION, SEGMENTATION_METRICS
from rla_lab.paper.report import (PairResults, SeedResult, format_markdown,
                                  format_seeds_csv, format_summary_csv,
                                  read_curves, to_percent)
from rla_lab.paper.stats import NO_DIFFERENCE, SINGLE_SEED

BOX_AP = 'coco/bbox_mAP'


def write_lines(path: Path, records: List[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))


def test_curves_merge_resumed_runs(tmp_path: Path):
    """A resumed training logs again from its checkpoint; validations sit
    at the iteration they followed, whatever their own step says."""
    write_lines(tmp_path / '20240101_000000' / 'vis_data' / 'scalars.json', [
        dict(loss=3.0, iter=50, step=50),
        dict(loss=2.0, epoch=1, iter=100, step=100),
        {'mIoU': 10.0, 'step': 1},
        dict(loss=1.9, epoch=2, iter=150, step=150),
    ])
    write_lines(tmp_path / '20240102_000000' / 'vis_data' / 'scalars.json', [
        dict(loss=1.8, epoch=2, iter=150, step=150),
        dict(loss=1.5, epoch=2, iter=200, step=200),
        {'mIoU': 20.0, 'step': 2},
    ])
    (tmp_path / 'not_a_run').mkdir()
    curves = read_curves(str(tmp_path), SEGMENTATION_METRICS[0])
    assert curves.loss == [(50, 3.0), (100, 2.0), (150, 1.8), (200, 1.5)]
    assert curves.val == [(100, 10.0), (200, 20.0)]


def test_percent_of_both_codebases():
    coco = {BOX_AP: 0.374, 'coco/bbox_mAP_s': -1.0, 'time': 0.5}
    assert to_percent(coco, PairResults('', '', '', DETECTION).metrics) == {
        BOX_AP: pytest.approx(37.4)}
    seg = {'mIoU': 42.05, 'mAcc': 53.1, 'aAcc': 80.2, 'data_time': 0.1}
    assert to_percent(seg, SEGMENTATION_METRICS) == {
        'mIoU': 42.05, 'mAcc': 53.1, 'aAcc': 80.2}


def table_rows(markdown: str, *needles: str) -> List[List[str]]:
    """The cells of the table rows that hold every one of ``needles``."""
    return [[cell.strip() for cell in line.strip('|').split('|')]
            for line in markdown.splitlines()
            if line.startswith('|') and all(n in line for n in needles)]


def detection_pair(seeds: List[SeedResult]) -> PairResults:
    return PairResults('Mask R-CNN', 'R-50', 'RLA-R-50', DETECTION, seeds,
                       paper={BOX_AP: 39.5})


def test_single_seed_says_so_and_gives_no_interval():
    pair = detection_pair([SeedResult(0, {BOX_AP: 47.6}, {BOX_AP: 40.1})])
    markdown = format_markdown([pair], [0], 0.95)
    assert '**Single seed (n = 1).**' in markdown
    (cells, ) = table_rows(markdown, ' vs ', ' box AP ')
    # n, means, sds (undefined), delta and its sd, no interval, paper,
    # reading, no seeds to tell.
    assert cells[3:] == ['1', '47.6', '-', '40.1', '-', '-7.5', '-', '-',
                         '39.5', SINGLE_SEED, '-']


def test_several_seeds_give_the_interval():
    """The issue's three demo seeds: -4.4 [-19.4, +10.6], containing 0."""
    pair = detection_pair([
        SeedResult(0, {BOX_AP: 47.6}, {BOX_AP: 40.1}),
        SeedResult(1, {BOX_AP: 45.5}, {BOX_AP: 37.3}),
        SeedResult(2, {BOX_AP: 38.2}, {BOX_AP: 40.8}),
        SeedResult(3, {BOX_AP: 40.0}, None),  # RLA still training
    ])
    markdown = format_markdown([pair], [0, 1, 2, 3], 0.95)
    assert 'Single seed' not in markdown
    assert 'seeds 0, 1, 2, 3' in markdown
    assert '95% Student-t interval' in markdown
    (cells, ) = table_rows(markdown, ' vs ', ' box AP ')
    assert cells[3:] == ['3', '43.8', '4.9', '39.4', '1.9', '-4.4', '6.0',
                         '[-19.4, +10.6]', '39.5', NO_DIFFERENCE, '10']
    assert '"Seeds to tell"' in markdown
    # A metric no finished run logged (no small objects): nothing to pair.
    (cells, ) = table_rows(markdown, ' vs ', ' APs ')
    assert cells[3:5] == ['0', '-'] and cells[-2:] == ['not logged', '-']
    # Every seed listed, the unfinished one pending.
    deltas = table_rows(markdown, 'RLA-R-50 - R-50')
    assert [row[1] for row in deltas] == ['0', '1', '2', '3']
    assert deltas[2][3] == '+2.6' and deltas[3][3] == '...'

    summary = list(csv.DictReader(io.StringIO(
        format_summary_csv([pair], 0.95))))
    box = summary[0]
    assert box['metric'] == BOX_AP and box['n'] == '3'
    assert float(box['ci_low']) == pytest.approx(-19.38, abs=0.01)
    assert float(box['delta_sd']) == pytest.approx(6.043, abs=1e-3)
    assert float(box['paper_rla']) == 39.5
    assert box['seeds_to_tell'] == '10'
    assert summary[1]['n'] == '0' and summary[1]['delta_mean'] == ''

    seeds = list(csv.DictReader(io.StringIO(format_seeds_csv([pair]))))
    assert len(seeds) == 4 * 7
    assert float(seeds[0]['delta']) == pytest.approx(-7.5)
    assert seeds[3 * 7]['rla_value'] == '' and seeds[3 * 7]['delta'] == ''


def test_tasks_get_their_own_tables():
    seg = PairResults('UPerNet, ADE20K, 160k', 'R-50', 'RLA-R-50',
                      SEGMENTATION, [
                          SeedResult(0, {'mIoU': 40.0}, {'mIoU': 41.5}),
                          SeedResult(1, {'mIoU': 41.0}, {'mIoU': 42.0})])
    pair = detection_pair([SeedResult(0, {BOX_AP: 1.0}, {BOX_AP: 2.0})])
    markdown = format_markdown([pair, seg], [0, 1], 0.9)
    headings = [line for line in markdown.splitlines()
                if line.startswith('## ')]
    assert headings == [
        '## Detection: mean over seeds', '## Detection: each seed',
        '## Segmentation: mean over seeds', '## Segmentation: each seed']
    # Deltas 1.5 and 1.0: mean 1.25, reported to mmseg's 2 decimals.
    (cells, ) = table_rows(markdown, ' vs ', ' mIoU ')
    assert cells[3] == '2' and cells[8] == '+1.25'
    assert '90% CI of delta' in markdown
