"""Paired statistics of a baseline and its RLA twin over seeds.

Seed ``s`` of the baseline and seed ``s`` of its RLA twin form a pair; the
difference of the twins is estimated by the mean of the per-seed deltas
(RLA minus baseline) with the confidence interval of a paired t-test
(Student t on ``n - 1`` degrees of freedom), taken from
:func:`scipy.stats.ttest_rel`.

What this module adds to SciPy: no interval (None rather than NaN) for a
single seed, no warning for deltas without spread, the summary of a pair
with a verdict in words, and the planning figure
:func:`seeds_to_exclude_zero`.
"""
import warnings
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np
from scipy import stats

SINGLE_SEED = 'single seed: one draw, no interval'
NO_DIFFERENCE = 'no detectable difference at this n'
RLA_HIGHER = 'RLA higher'
RLA_LOWER = 'RLA lower'
# Most seeds seeds_to_exclude_zero looks at.
MAX_SEEDS = 1000


def sample_sd(values: Sequence[float]) -> Optional[float]:
    """The sample standard deviation (``n - 1`` in the denominator).

    Returns:
        float, optional: None for fewer than two values, where it is not
        defined.
    """
    # Ours: None where NumPy would return NaN with a warning.
    if len(values) < 2:
        return None
    return float(np.std(values, ddof=1))


def paired_interval(baseline: Sequence[float],
                    rla: Sequence[float],
                    confidence: float = 0.95
                    ) -> Optional[Tuple[float, float]]:
    """Confidence interval of the mean paired delta, RLA minus baseline:
    the interval of SciPy's paired t-test (``scipy.stats.ttest_rel``).

    Args:
        baseline (Sequence[float]): The baseline's values, one per seed.
        rla (Sequence[float]): The RLA twin's values for the same seeds, in
            the same order.
        confidence (float): Coverage of the interval, in (0, 1).

    Returns:
        tuple[float, float], optional: (low, high); None for fewer than two
        pairs, which give no estimate of the spread.
    """
    # Checked here, before the single-seed case returns, with a hint.
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must be in (0, 1), got {confidence}; '
                         'e.g. 0.95 for a 95% interval.')
    if len(baseline) != len(rla):
        raise ValueError('paired_interval needs one RLA value per baseline '
                         f'value; got {len(baseline)} baseline and '
                         f'{len(rla)} RLA values.')
    # Ours: one pair has no spread to estimate; SciPy would give NaNs.
    if len(rla) < 2:
        return None
    with warnings.catch_warnings():
        # Ours: the same delta every seed (or equal but for rounding) makes
        # SciPy warn of precision loss; its interval is the right zero- or
        # near-zero-width one all the same.
        warnings.filterwarnings(
            'ignore', message='Precision loss', category=RuntimeWarning)
        interval = stats.ttest_rel(rla, baseline).confidence_interval(
            confidence_level=confidence)
    return float(interval.low), float(interval.high)


def seeds_to_exclude_zero(delta_mean: float,
                          delta_sd: float,
                          confidence: float = 0.95,
                          max_seeds: int = MAX_SEEDS) -> Optional[int]:
    """Seeds at which the interval would just exclude zero, were the mean
    delta and the sd of the deltas to stay as measured.

    A planning figure, not a promise: if the true delta is the measured one,
    an interval from that many seeds excludes zero about half the time.

    Args:
        delta_mean (float): Mean paired delta.
        delta_sd (float): Sample sd of the paired deltas.
        confidence (float): Coverage of the interval, in (0, 1).
        max_seeds (int): Largest number of seeds considered.

    Returns:
        int, optional: The smallest n >= 2 whose half width
        ``t((1 + confidence) / 2; n - 1) * delta_sd / sqrt(n)`` is below
        ``|delta_mean|``; None if no n up to ``max_seeds`` is (e.g. for a
        zero delta).
    """
    # Ours: SciPy's t quantiles, but no SciPy function solves for n in
    # closed form (``scipy.stats.power`` simulates a test instead).
    n = np.arange(2, max_seeds + 1)
    half = stats.t.ppf((1 + confidence) / 2, n - 1) * delta_sd / np.sqrt(n)
    enough = np.flatnonzero(half < abs(delta_mean))
    return int(n[enough[0]]) if enough.size else None


@dataclass(frozen=True)
class PairedSummary:
    """One metric of a pair over the seeds both twins finished.

    Attributes:
        n (int): Number of seeds (pairs).
        baseline_mean (float): The baseline's mean.
        baseline_sd (float, optional): Its sample sd; None when ``n < 2``.
        rla_mean (float): The RLA twin's mean.
        rla_sd (float, optional): Its sample sd; None when ``n < 2``.
        delta_mean (float): Mean of the per-seed deltas, RLA minus baseline
            (equal to ``rla_mean - baseline_mean``).
        delta_sd (float, optional): Sample sd of the per-seed deltas, the
            spread the interval is made of; None when ``n < 2``.
        interval (tuple[float, float], optional): Confidence interval of
            ``delta_mean``; None when ``n < 2``.
        confidence (float): Coverage of ``interval``.
    """
    n: int
    baseline_mean: float
    baseline_sd: Optional[float]
    rla_mean: float
    rla_sd: Optional[float]
    delta_mean: float
    delta_sd: Optional[float]
    interval: Optional[Tuple[float, float]]
    confidence: float

    @property
    def verdict(self) -> str:
        """What the interval says, in words."""
        if self.interval is None:
            return SINGLE_SEED
        low, high = self.interval
        if low <= 0 <= high:
            return NO_DIFFERENCE
        return RLA_HIGHER if low > 0 else RLA_LOWER

    @property
    def seeds_to_tell(self) -> Optional[int]:
        """For an interval that contains zero, :func:`seeds_to_exclude_zero`
        of this mean and sd; None otherwise, or beyond its ``max_seeds``."""
        if self.verdict != NO_DIFFERENCE:
            return None
        return seeds_to_exclude_zero(self.delta_mean, self.delta_sd,
                                     self.confidence)


def paired_summary(baseline: Sequence[float],
                   rla: Sequence[float],
                   confidence: float = 0.95) -> PairedSummary:
    """Means, spreads and the mean paired delta with its interval.

    Args:
        baseline (Sequence[float]): The baseline's values, one per seed.
        rla (Sequence[float]): The RLA twin's values for the same seeds, in
            the same order.
        confidence (float): Coverage of the delta's interval, in (0, 1).

    Returns:
        PairedSummary: The summary; its interval is None for one seed.
    """
    if len(baseline) != len(rla) or not baseline:
        raise ValueError(
            'paired_summary needs one RLA value per baseline value, at least '
            f'one each; got {len(baseline)} baseline and {len(rla)} RLA '
            'values. Pass only the seeds both twins finished.')
    deltas = [r - b for b, r in zip(baseline, rla)]
    return PairedSummary(
        n=len(deltas),
        baseline_mean=float(np.mean(baseline)),
        baseline_sd=sample_sd(baseline),
        rla_mean=float(np.mean(rla)),
        rla_sd=sample_sd(rla),
        delta_mean=float(np.mean(deltas)),
        delta_sd=sample_sd(deltas),
        interval=paired_interval(baseline, rla, confidence),
        confidence=confidence)
