"""The results of paired runs: per-seed values, paired statistics, the
tables (Markdown and CSV) and the training curves.

A pair is a plain-ResNet baseline and its RLA twin, run once per seed with
identical settings. Values are in percent throughout.
"""
import csv
import io
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from ..utils.runs import Curve, Panel, Reference, plot_panels, read_scalars
from .catalog import TASK_METRICS, Metric
from .markdown import markdown_table
from .stats import MAX_SEEDS, NO_DIFFERENCE, PairedSummary, paired_summary

MISSING = '-'
PENDING = '...'
BASELINE_COLOUR = 'tab:blue'
RLA_COLOUR = 'tab:red'

Values = Dict[str, float]


def to_percent(record: Mapping[str, float],
               metrics: Sequence[Metric]) -> Values:
    """The ``metrics`` of a test record in percent, by metric key.

    A metric the record lacks, or logs as -1 (``CocoMetric``'s "no ground
    truth in this size range"), is left out.
    """
    return {
        m.key: record[m.key] * m.scale
        for m in metrics if m.key in record and record[m.key] >= 0
    }


@dataclass
class SeedResult:
    """Both twins' values for one seed; None while a run is unfinished."""
    seed: int
    baseline: Optional[Values] = None
    rla: Optional[Values] = None


@dataclass
class PairResults:
    """What is known about one pair.

    Attributes:
        title (str): The model family, e.g. ``'Mask R-CNN'``.
        baseline_name (str): Baseline backbone, e.g. ``'R-50'``.
        rla_name (str): RLA backbone, e.g. ``'RLA-R-50'``.
        task (str): A key of ``catalog.TASK_METRICS``.
        seeds (list[SeedResult]): One entry per seed asked for.
        paper (dict, optional): The paper's values of the RLA model by
            metric key, where it reports the model.
    """
    title: str
    baseline_name: str
    rla_name: str
    task: str
    seeds: List[SeedResult] = field(default_factory=list)
    paper: Optional[Values] = None

    @property
    def metrics(self) -> Tuple[Metric, ...]:
        return TASK_METRICS[self.task]

    def finished_seeds(self) -> List[SeedResult]:
        """The seeds both twins have finished."""
        return [s for s in self.seeds
                if s.baseline is not None and s.rla is not None]

    def summary(self, metric: Metric,
                confidence: float) -> Optional[PairedSummary]:
        """Paired statistics of ``metric`` over the seeds both twins
        finished with a value for it; None when there is no such seed."""
        pairs = [(s.baseline[metric.key], s.rla[metric.key])
                 for s in self.finished_seeds()
                 if metric.key in s.baseline and metric.key in s.rla]
        if not pairs:
            return None
        baseline, rla = zip(*pairs)
        return paired_summary(baseline, rla, confidence)


def _number(value: Optional[float], metric: Metric,
            signed: bool = False) -> str:
    if value is None:
        return MISSING
    return f'{value:{"+" if signed else ""}.{metric.decimals}f}'


def _interval(summary: PairedSummary, metric: Metric) -> str:
    if summary.interval is None:
        return MISSING
    low, high = (_number(v, metric, signed=True) for v in summary.interval)
    return f'[{low}, {high}]'


def _seeds_to_tell(summary: PairedSummary) -> str:
    if summary.verdict != NO_DIFFERENCE:
        return MISSING
    seeds = summary.seeds_to_tell
    return f'> {MAX_SEEDS}' if seeds is None else str(seeds)


def summary_rows(results: Sequence[PairResults],
                 confidence: float) -> List[List[str]]:
    """One row per pair and metric: n, each twin's mean and sd, the mean
    delta with its interval, the paper's RLA value, what the interval says
    and, where it contains zero, the seeds it would take to tell."""
    rows = []
    for pair in results:
        for metric in pair.metrics:
            summary = pair.summary(metric, confidence)
            paper = (pair.paper or {}).get(metric.key)
            head = [pair.title, f'{pair.rla_name} vs {pair.baseline_name}',
                    metric.name]
            if summary is None:
                finished = pair.finished_seeds()
                rows.append(head + ['0'] +
                            [MISSING if finished else PENDING] * 7 + [
                                _number(paper, metric),
                                'not logged' if finished else
                                'no finished pair', MISSING
                            ])
                continue
            rows.append(head + [
                str(summary.n),
                _number(summary.baseline_mean, metric),
                _number(summary.baseline_sd, metric),
                _number(summary.rla_mean, metric),
                _number(summary.rla_sd, metric),
                _number(summary.delta_mean, metric, signed=True),
                _number(summary.delta_sd, metric),
                _interval(summary, metric),
                _number(paper, metric),
                summary.verdict,
                _seeds_to_tell(summary),
            ])
    return rows


def seed_rows(results: Sequence[PairResults]) -> List[List[str]]:
    """Per pair and seed: the baseline, the RLA twin and their delta."""
    rows = []
    for pair in results:
        for seed in pair.seeds:
            both = seed.baseline is not None and seed.rla is not None
            for name, values, signed in (
                    (pair.baseline_name, seed.baseline, False),
                    (pair.rla_name, seed.rla, False),
                    (f'{pair.rla_name} - {pair.baseline_name}',
                     _delta(seed.baseline, seed.rla) if both else None,
                     True)):
                cells = [PENDING] * len(pair.metrics) if values is None else [
                    _number(values.get(m.key), m, signed)
                    for m in pair.metrics
                ]
                rows.append([pair.title, str(seed.seed), name] + cells)
    return rows


def _delta(baseline: Values, rla: Values) -> Values:
    return {k: rla[k] - baseline[k] for k in rla if k in baseline}


def protocol(seeds: Sequence[int], confidence: float,
             coupled: bool = False) -> str:
    """How the runs were made and what the statistics mean, stated before
    any result; ``coupled``: the twins shared their initial weights."""
    listed = ('seed ' if len(seeds) == 1 else 'seeds ') + ', '.join(
        map(str, seeds))
    text = (
        'Protocol: in each pair the two configs differ only in the backbone; '
        'both twins are trained and tested with the same settings once '
        f'per seed (`randomness.seed`), {listed}, fixed before the runs. '
        'Every finished seed is reported, none dropped. Delta = RLA minus '
        'baseline of the same seed; "sd" is the sample standard deviation '
        'over seeds (of each twin\'s values, and of the deltas next to the '
        'delta); the interval is the two-sided '
        f'{confidence:.0%} Student-t interval of the mean delta on n - 1 '
        'degrees of freedom (a paired t-test). Values in percent.')
    if coupled:
        text += (
            ' Shared initial weights (`--couple-init`): the twins of a seed '
            'start from one draw, the RLA twin taking every tensor the '
            'baseline has from the baseline\'s initialization with that '
            'seed and drawing only its own parts, and both re-seed before '
            'the first iteration, so that the draws of training (dropout, '
            'flips) are common too; each twin\'s initialization keeps its '
            'distribution.')
    if len(seeds) == 1:
        text += (
            '\n\n**Single seed (n = 1).** Each delta below is one draw of a '
            'noisy training, with no interval: it cannot tell an effect of '
            'the backbone from seed noise. Run several seeds (e.g. `--seeds '
            '0 1 2 3 4`) before reading a difference as an effect.')
    return text


LEGEND = (
    '"paper": the RLA model as reported by Zhao et al. (NeurIPS 2021), '
    'trained with mmdet 2.x against baselines of their own; compare it with '
    'our RLA mean, not with the delta. "-": not reported, no ground truth in '
    'that size range, or undefined for one seed; "...": run not finished. '
    '"Seeds to tell", where the interval contains zero: the number of seeds '
    'at which it would just exclude zero if the mean delta and the sd of '
    'the deltas stayed as measured. A planning figure: with a true delta of '
    'that size, an interval from that many seeds excludes zero about half '
    'the time.')


def format_markdown(results: Sequence[PairResults], seeds: Sequence[int],
                    confidence: float, coupled: bool = False) -> str:
    """The protocol, then per task the summary and the per-seed table."""
    lines = ['# Paired runs: RLA twin vs plain-ResNet baseline', '',
             protocol(seeds, confidence, coupled), '']
    for task in TASK_METRICS:
        chosen = [r for r in results if r.task == task]
        if not chosen:
            continue
        metrics = chosen[0].metrics
        lines += [f'## {task.capitalize()}: mean over seeds', '']
        lines += markdown_table(
            ['Model', 'Pair', 'Metric', 'n', 'Baseline mean', 'sd',
             'RLA mean', 'sd', 'Delta', 'sd', f'{confidence:.0%} CI of delta',
             'Paper RLA', 'Reading', 'Seeds to tell'],
            summary_rows(chosen, confidence), 'lll' + 'r' * 9 + 'lr')
        lines += ['', f'## {task.capitalize()}: each seed', '']
        lines += markdown_table(
            ['Model', 'Seed', 'Backbone'] + [m.name for m in metrics],
            seed_rows(chosen), 'lrl' + 'r' * len(metrics)) + ['']
    return '\n'.join(lines + [LEGEND, ''])


def _csv(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _cell(value: Optional[float]) -> str:
    return '' if value is None else repr(round(value, 6))


def format_summary_csv(results: Sequence[PairResults],
                       confidence: float) -> str:
    """The summary, one row per pair and metric, unrounded; empty cells
    where a value is undefined or pending."""
    rows = []
    for pair in results:
        for metric in pair.metrics:
            summary = pair.summary(metric, confidence)
            low, high = (summary.interval if summary and summary.interval
                         else (None, None))
            rows.append([
                pair.title, pair.baseline_name, pair.rla_name, metric.key,
                summary.n if summary else 0,
                *[_cell(getattr(summary, name, None)) for name in (
                    'baseline_mean', 'baseline_sd', 'rla_mean', 'rla_sd',
                    'delta_mean', 'delta_sd')],
                _cell(low), _cell(high), confidence,
                _cell((pair.paper or {}).get(metric.key)),
                summary.verdict if summary else '',
                _cell(summary.seeds_to_tell if summary else None)
            ])
    return _csv([
        'model', 'baseline', 'rla', 'metric', 'n', 'baseline_mean',
        'baseline_sd', 'rla_mean', 'rla_sd', 'delta_mean', 'delta_sd',
        'ci_low',
        'ci_high', 'confidence', 'paper_rla', 'reading', 'seeds_to_tell'
    ], rows)


def format_seeds_csv(results: Sequence[PairResults]) -> str:
    """Every seed's values, one row per pair, seed and metric."""
    rows = []
    for pair in results:
        for seed in pair.seeds:
            baseline, rla = seed.baseline or {}, seed.rla or {}
            for metric in pair.metrics:
                b, r = baseline.get(metric.key), rla.get(metric.key)
                rows.append([
                    pair.title, pair.baseline_name, pair.rla_name, seed.seed,
                    metric.key, _cell(b), _cell(r),
                    _cell(None if b is None or r is None else r - b)
                ])
    return _csv(['model', 'baseline', 'rla', 'seed', 'metric',
                 'baseline_value', 'rla_value', 'delta'], rows)


@dataclass
class Curves:
    """Training curves of one run, from its ``scalars.json`` logs.

    Attributes:
        loss (list[tuple[int, float]]): (iteration, total loss).
        val (list[tuple[int, float]]): (iteration, validation metric in
            percent), placed at the last logged training iteration before
            the validation (the end of the epoch for epoch-based training,
            which mmengine always logs).
    """
    loss: List[Tuple[int, float]] = field(default_factory=list)
    val: List[Tuple[int, float]] = field(default_factory=list)


def read_curves(train_work_dir: str, metric: Metric) -> Curves:
    """Loss and validation ``metric`` of a training, resumed runs merged.

    Validation records are not placed by their own ``step``: it is the
    epoch, or 0 in iteration-based training unless the config sets
    ``log_metric_by_epoch=False``. When a run resumes, iterations it logs
    again replace the earlier values.
    """
    losses: Dict[int, float] = {}
    values: Dict[int, float] = {}
    iteration = 0
    for record in read_scalars(train_work_dir):
        if 'loss' in record:
            iteration = record['step']
            losses[iteration] = record['loss']
        if metric.key in record:
            values[iteration] = record[metric.key] * metric.scale
    return Curves(sorted(losses.items()), sorted(values.items()))


@dataclass
class PairCurves:
    """Curves of both twins of a pair, one entry per seed."""
    pair: PairResults
    baseline: Dict[int, Curves]
    rla: Dict[int, Curves]


def plot_pairs(pairs: Sequence[PairCurves], out_file: str) -> None:
    """One row per pair: training loss and the first validation metric,
    every seed of both twins; the paper's value as a dashed line."""
    rows = []
    for item in pairs:
        pair, metric = item.pair, item.pair.metrics[0]
        loss, val = [], []
        for name, colour, by_seed in (
                (pair.baseline_name, BASELINE_COLOUR, item.baseline),
                (pair.rla_name, RLA_COLOUR, item.rla)):
            for seed, curves in sorted(by_seed.items()):
                label = f'{name}, seed {seed}'
                loss.append(Curve(label, curves.loss, colour, 1.0))
                val.append(Curve(label, curves.val, colour, 1.0))
        paper = (pair.paper or {}).get(metric.key)
        references = [] if paper is None else [
            Reference(f'{pair.rla_name}, paper', paper, RLA_COLOUR)
        ]
        title = f'{pair.title}, {pair.rla_name} vs {pair.baseline_name}'
        rows.append([
            Panel(f'{title}: training loss', 'loss', loss),
            Panel(f'{title}: validation {metric.name}',
                  f'{metric.name} (%)', val, references),
        ])
    plot_panels(rows, out_file)
