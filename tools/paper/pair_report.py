"""Results of paired runs: metrics from the logs, the table and the curves.

Reads what ``tools/train.py`` and ``tools/test.py`` leave in their work dirs
(mmengine's ``<timestamp>/vis_data/scalars.json`` and the test metrics
``<timestamp>/<timestamp>.json``) and writes the comparison of a baseline and
its RLA twin as Markdown, CSV and a PNG of the training curves.
"""
import csv
import io
import json
import os.path as osp
import re
from dataclasses import dataclass, field
from glob import glob
from typing import Dict, List, Optional, Sequence, Tuple

# CocoMetric key suffix -> column header, in table order.
METRIC_COLUMNS: Tuple[Tuple[str, str], ...] = (
    ('bbox_mAP', 'box AP'),
    ('bbox_mAP_50', 'AP50'),
    ('bbox_mAP_75', 'AP75'),
    ('bbox_mAP_s', 'APs'),
    ('bbox_mAP_m', 'APm'),
    ('bbox_mAP_l', 'APl'),
    ('segm_mAP', 'mask AP'),
)
# mmengine names each run's folder after its start time.
_RUN_DIR = re.compile(r'^\d{8}_\d{6}$')
MISSING = '-'
PENDING = '...'


def read_json_lines(path: str) -> List[dict]:
    """Records of a JSON-lines file such as mmengine's ``scalars.json``."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def run_dirs(work_dir: str) -> List[str]:
    """The ``YYYYMMDD_HHMMSS`` folders of ``work_dir``, oldest first.

    A resumed training adds one folder per start.
    """
    return sorted(
        path for path in glob(osp.join(work_dir, '*'))
        if osp.isdir(path) and _RUN_DIR.match(osp.basename(path)))


def read_test_metrics(test_work_dir: str) -> Dict[str, float]:
    """COCO metrics of the newest ``tools/test.py`` run in ``test_work_dir``.

    Returns:
        dict: ``CocoMetric`` values (fractions; -1 where a size range has no
        ground truth) by key without the ``coco/`` prefix, e.g.
        ``{'bbox_mAP': 0.374, ...}``.

    Raises:
        FileNotFoundError: If no run there wrote its metrics.
    """
    for run in reversed(run_dirs(test_work_dir)):
        path = osp.join(run, f'{osp.basename(run)}.json')
        if osp.isfile(path):
            records = read_json_lines(path)
            if records:
                return {
                    key[len('coco/'):]: value
                    for key, value in records[-1].items()
                    if key.startswith('coco/')
                }
    raise FileNotFoundError(
        f'no test metrics (<timestamp>/<timestamp>.json) in {test_work_dir}; '
        f'did tools/test.py fail?')


def to_percent(metrics: Dict[str, float]) -> Dict[str, float]:
    """Fractions to AP in percent, rounded to 0.1; -1 (no data) dropped."""
    return {k: round(v * 100, 1) for k, v in metrics.items() if v >= 0}


@dataclass
class Curves:
    """Training curves of one run, from its ``scalars.json`` logs.

    Attributes:
        loss (list[tuple[int, float]]): (iteration, total loss).
        box_ap (list[tuple[int, float]]): (iteration, box AP in percent) of
            each validation, placed at the last logged training iteration
            before it (the end of the epoch for epoch-based training, which
            mmengine always logs).
    """
    loss: List[Tuple[int, float]] = field(default_factory=list)
    box_ap: List[Tuple[int, float]] = field(default_factory=list)


def read_curves(train_work_dir: str) -> Curves:
    """Loss and validation box AP of a training, resumed runs merged.

    Validation records are not placed by their own ``step``: it is the
    epoch, or 0 in iteration-based training unless the config sets
    ``log_metric_by_epoch=False``. When a run resumes, iterations it logs
    again replace the earlier values.
    """
    losses: Dict[int, float] = {}
    aps: Dict[int, float] = {}
    iteration = 0
    for run in run_dirs(train_work_dir):
        path = osp.join(run, 'vis_data', 'scalars.json')
        if not osp.isfile(path):
            continue
        for record in read_json_lines(path):
            if 'loss' in record:
                iteration = record['step']
                losses[iteration] = record['loss']
            if 'coco/bbox_mAP' in record:
                aps[iteration] = record['coco/bbox_mAP'] * 100
    return Curves(sorted(losses.items()), sorted(aps.items()))


@dataclass
class PairResult:
    """What is known about one baseline/RLA pair.

    Attributes:
        detector (str): Detector name, e.g. 'Mask R-CNN'.
        baseline_name (str): Baseline backbone, e.g. 'R-50'.
        rla_name (str): RLA backbone, e.g. 'RLA-R-50'.
        baseline (dict, optional): Our baseline's AP in percent; None while
            the run is pending.
        rla (dict, optional): Our RLA model's AP in percent, or None.
        paper (dict, optional): The paper's AP for the RLA model, or None
            where the paper has no such model.
    """
    detector: str
    baseline_name: str
    rla_name: str
    baseline: Optional[Dict[str, float]] = None
    rla: Optional[Dict[str, float]] = None
    paper: Optional[Dict[str, float]] = None


@dataclass
class TableRow:
    """One row of the comparison table; ``values`` None means pending."""
    detector: str
    backbone: str
    source: str
    values: Optional[Dict[str, float]]
    signed: bool = False


def delta(rla: Dict[str, float],
          baseline: Dict[str, float]) -> Dict[str, float]:
    """RLA minus baseline, metric by metric, where both have a value."""
    return {
        key: round(rla[key] - baseline[key], 1)
        for key in rla if key in baseline
    }


def table_rows(results: Sequence[PairResult]) -> List[TableRow]:
    """Per pair: our baseline, our RLA, their difference, the paper's RLA.

    The paper row is left out for pairs the paper did not report.
    """
    rows = []
    for result in results:
        both = result.baseline is not None and result.rla is not None
        rows += [
            TableRow(result.detector, result.baseline_name, 'ours',
                     result.baseline),
            TableRow(result.detector, result.rla_name, 'ours', result.rla),
            TableRow(result.detector,
                     f'{result.rla_name} - {result.baseline_name}',
                     'ours, delta',
                     delta(result.rla, result.baseline) if both else None,
                     signed=True),
        ]
        if result.paper is not None:
            rows.append(
                TableRow(result.detector, result.rla_name, 'paper',
                         result.paper))
    return rows


def format_value(value: Optional[float], signed: bool = False) -> str:
    if value is None:
        return MISSING
    return f'{value:+.1f}' if signed else f'{value:.1f}'


def _cells(row: TableRow) -> List[str]:
    if row.values is None:
        return [PENDING] * len(METRIC_COLUMNS)
    return [
        format_value(row.values.get(key), row.signed)
        for key, _ in METRIC_COLUMNS
    ]


TABLE_LEGEND = """\
AP in percent on the test split of the configs (COCO val2017 for the COCO
configs). "ours": trained and tested here, the two models of a pair with
identical settings; "ours, delta": our RLA model minus our baseline, the only
difference being the backbone. "paper": the RLA model as reported by Zhao et
al. (NeurIPS 2021), trained with mmdet 2.x; compare it with our RLA row, not
with the delta. "-": not reported, or no ground truth in that size range;
"...": run not finished yet."""


def format_markdown(rows: Sequence[TableRow]) -> str:
    """The rows as a Markdown table followed by its legend."""
    header = ['Detector', 'Backbone', 'Source'] + [
        name for _, name in METRIC_COLUMNS
    ]
    lines = [
        '| ' + ' | '.join(header) + ' |',
        '|' + '---|' * 3 + '---:|' * len(METRIC_COLUMNS),
    ]
    for row in rows:
        cells = [row.detector, row.backbone, row.source] + _cells(row)
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n\n' + TABLE_LEGEND + '\n'


def format_csv(rows: Sequence[TableRow]) -> str:
    """The rows as CSV; metric columns named after CocoMetric's keys.

    Missing and pending values are empty cells.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['detector', 'backbone', 'source'] +
                    [key for key, _ in METRIC_COLUMNS])
    for row in rows:
        values = row.values or {}
        writer.writerow([row.detector, row.backbone, row.source] + [
            '' if values.get(key) is None else values[key]
            for key, _ in METRIC_COLUMNS
        ])
    return buffer.getvalue()


@dataclass
class PairCurves:
    """Curves of both runs of a pair, for one row of the figure."""
    title: str
    baseline_name: str
    rla_name: str
    baseline: Curves
    rla: Curves
    paper_box_ap: Optional[float] = None


def plot_curves(pairs: Sequence[PairCurves], out_file: str) -> None:
    """One row per pair: training loss and validation box AP, both runs.

    The paper's final box AP for the RLA model is drawn as a dashed line
    where there is one.
    """
    # A bare Figure needs no GUI backend (and no pyplot global state).
    from matplotlib.figure import Figure
    fig = Figure(figsize=(11, 3.6 * len(pairs)))
    axes = fig.subplots(len(pairs), 2, squeeze=False)
    for (loss_ax, ap_ax), pair in zip(axes, pairs):
        runs = ((pair.baseline_name, pair.baseline, 'tab:blue'),
                (pair.rla_name, pair.rla, 'tab:red'))
        for name, curves, colour in runs:
            for ax, points in ((loss_ax, curves.loss),
                               (ap_ax, curves.box_ap)):
                if points:
                    # Markers keep short curves (a smoke run) visible.
                    ax.plot(*zip(*points), label=name, color=colour,
                            marker='o' if len(points) < 30 else None,
                            markersize=4)
        if pair.paper_box_ap is not None:
            ap_ax.axhline(pair.paper_box_ap, color='tab:red', ls='--',
                          label=f'{pair.rla_name}, paper')
        loss_ax.set(title=f'{pair.title}: training loss', ylabel='loss')
        ap_ax.set(title=f'{pair.title}: validation box AP',
                  ylabel='box AP (%)')
        for ax in (loss_ax, ap_ax):
            ax.set_xlabel('iteration')
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
