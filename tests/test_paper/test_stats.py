"""Paired statistics against numbers worked out by hand."""
import pytest

from rla_lab.paper.stats import (NO_DIFFERENCE, RLA_HIGHER, RLA_LOWER,
                                 SINGLE_SEED, paired_interval,
                                 paired_summary, sample_sd,
                                 seeds_to_exclude_zero)

# Student t quantiles from the printed tables: t(0.975; 2 df), t(0.95; 2 df).
T_975_2 = 4.303
T_95_2 = 2.920


def test_sample_sd_uses_n_minus_one():
    # Deviations -1, 0, 1: (1 + 0 + 1) / (3 - 1) = 1.
    assert sample_sd([1.0, 2.0, 3.0]) == pytest.approx(1.0)
    assert sample_sd([5.0]) is None


def test_paired_interval_of_three_deltas():
    # Deltas 1, 2, 3: mean 2, sd 1, standard error 1 / sqrt(3) = 0.57735.
    baseline = [10.0, 20.0, 30.0]
    rla = [11.0, 22.0, 33.0]
    low, high = paired_interval(baseline, rla)
    assert low == pytest.approx(2 - T_975_2 * 0.57735, abs=1e-3)
    assert high == pytest.approx(2 + T_975_2 * 0.57735, abs=1e-3)
    low, high = paired_interval(baseline, rla, confidence=0.90)
    assert high - low == pytest.approx(2 * T_95_2 * 0.57735, abs=1e-3)
    # RLA minus baseline, not the other way round.
    low, high = paired_interval(rla, baseline)
    assert high == pytest.approx(-2 + T_975_2 * 0.57735, abs=1e-3)
    assert paired_interval([1.0], [2.0]) is None
    with pytest.raises(ValueError, match='confidence must be in'):
        paired_interval([1.0, 2.0], [2.0, 3.0], confidence=95)
    with pytest.raises(ValueError, match='confidence must be in'):
        paired_interval([1.0], [2.0], confidence=0)
    with pytest.raises(ValueError, match='one RLA value per baseline'):
        paired_interval([1.0, 2.0], [1.0])


def test_paired_interval_of_four_deltas():
    """A second example worked out by hand, on 3 degrees of freedom."""
    # Deltas 0.5, -0.1, 0.3, 0.9: mean 0.4; squared deviations 0.01 +
    # 0.25 + 0.01 + 0.25 = 0.52, / 3 -> sd 0.41633; standard error
    # 0.41633 / 2 = 0.20817; t(0.975; 3) = 3.182 -> half width 0.66239.
    low, high = paired_interval([70.0, 71.0, 72.0, 73.0],
                                [70.5, 70.9, 72.3, 73.9])
    assert low == pytest.approx(0.4 - 0.66239, abs=1e-3)
    assert high == pytest.approx(0.4 + 0.66239, abs=1e-3)


def test_paired_interval_without_spread_is_exact_and_quiet(recwarn):
    assert paired_interval([1.0, 2.0], [2.0, 3.0]) == (1.0, 1.0)
    assert paired_interval([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == (0.0, 0.0)
    # Equal but for rounding (1.1 - 1e-15 and 1.1 + 1e-15): near zero width.
    low, high = paired_interval([10.0, 20.0], [11.1, 21.1])
    assert low == pytest.approx(1.1) and high == pytest.approx(1.1)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_paired_summary_of_the_issues_demo_seeds():
    """Box AP of the demo pair, seeds 0-2, as issue 12 measured them."""
    baseline = [47.6, 45.5, 38.2]
    rla = [40.1, 37.3, 40.8]
    summary = paired_summary(baseline, rla)
    assert summary.n == 3
    # Means 131.3 / 3 and 118.2 / 3; deltas -7.5, -8.2, +2.6.
    assert summary.baseline_mean == pytest.approx(43.767, abs=1e-3)
    assert summary.rla_mean == pytest.approx(39.4)
    assert summary.delta_mean == pytest.approx(-4.367, abs=1e-3)
    # Squared deviations of the baseline: 14.694 + 3.004 + 30.988 = 48.687,
    # / 2 -> sd 4.934; of RLA: 0.49 + 4.41 + 1.96 = 6.86, / 2 -> sd 1.852.
    assert summary.baseline_sd == pytest.approx(4.934, abs=1e-3)
    assert summary.rla_sd == pytest.approx(1.852, abs=1e-3)
    # Deltas' sd: (9.818 + 14.694 + 48.534) / 2 = 36.523 -> 6.0434; half
    # width 4.303 * 6.0434 / sqrt(3) = 15.014.
    assert summary.delta_sd == pytest.approx(6.0434, abs=1e-3)
    low, high = summary.interval
    assert low == pytest.approx(-4.367 - 15.014, abs=0.01)
    assert high == pytest.approx(-4.367 + 15.014, abs=0.01)
    assert summary.verdict == NO_DIFFERENCE
    # 9 seeds: half width t(0.975; 8) * sd / 3 = 2.306 * 6.0434 / 3 =
    # 4.645, above |mean|; 10: 2.262 * 6.0434 / sqrt(10) = 4.323, below.
    assert summary.seeds_to_tell == 10


def test_seeds_to_exclude_zero_against_t_tables():
    # Mean 1, sd 1. 95%: 6 seeds give 2.571 / sqrt(6) = 1.050, 7 give
    # 2.447 / sqrt(7) = 0.925. 99%: 10 give 3.250 / sqrt(10) = 1.028, 11
    # give 3.169 / sqrt(11) = 0.955.
    assert seeds_to_exclude_zero(1.0, 1.0) == 7
    assert seeds_to_exclude_zero(-1.0, 1.0) == 7
    assert seeds_to_exclude_zero(1.0, 1.0, confidence=0.99) == 11
    # A zero delta never excludes zero; nor a small one within the limit.
    assert seeds_to_exclude_zero(0.0, 1.0) is None
    assert seeds_to_exclude_zero(1.0, 1.0, max_seeds=6) is None


def test_verdicts():
    assert paired_summary([1.0], [2.0]).verdict == SINGLE_SEED
    assert paired_summary([1.0], [2.0]).interval is None
    assert paired_summary([1.0], [2.0]).delta_sd is None
    # Deltas 1.0, 1.2, 0.8: mean 1, sd 0.2, half width 4.303 * 0.1155.
    higher = paired_summary([10.0, 20.0, 30.0], [11.0, 21.2, 30.8])
    assert higher.interval[0] == pytest.approx(1 - T_975_2 * 0.11547,
                                               abs=1e-3)
    assert higher.verdict == RLA_HIGHER
    # Only an interval across zero asks for more seeds.
    assert higher.seeds_to_tell is None
    assert paired_summary([1.0], [2.0]).seeds_to_tell is None
    assert paired_summary([11.0, 21.2, 30.8],
                          [10.0, 20.0, 30.0]).verdict == RLA_LOWER
    # The same delta every seed: no spread, a zero-width interval.
    assert paired_summary([1.0, 2.0], [2.0, 3.0]).interval == (1.0, 1.0)


def test_unpaired_values_are_refused():
    with pytest.raises(ValueError, match='one RLA value per baseline'):
        paired_summary([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match='one RLA value per baseline'):
        paired_summary([], [])
