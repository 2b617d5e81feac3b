"""PSI, KS, the drift verdicts, decay measures and the held-out score (pure, synthetic data)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest

from shopfloor.errors import InputError
from shopfloor.maintenance.condition import ConditionMonitor
from shopfloor.maintenance.drift import (
    DriftThresholds,
    NormalAlarms,
    Precision,
    bin_shares,
    deviations,
    feature_drift,
    holdout_nll,
    ks_test,
    normal_alarms,
    psi,
    quantile_edges,
)
from tests.maintenance.condition_data import machine_buckets

RNG = np.random.default_rng(7)
REFERENCE = RNG.standard_normal(20_000)


def test_bins_are_the_reference_deciles() -> None:
    edges = quantile_edges(REFERENCE, 10)
    assert edges.size == 9
    np.testing.assert_allclose(bin_shares(REFERENCE, edges), 0.1, atol=1e-3)
    assert quantile_edges([1.0] * 95 + [2.0] * 5, 10).tolist() == [1.0]  # ties merged


def test_psi_by_hand() -> None:
    # Quartile bins of 1..8: edges 2.75, 4.5, 6.25, a quarter of the reference each.
    reference = np.arange(1.0, 9.0)
    np.testing.assert_allclose(quantile_edges(reference, 4), [2.75, 4.5, 6.25])
    recent = np.array([1.0, 2.0, 1.5, 2.5, 3.0, 4.0, 5.0, 6.0])  # 1/2, 1/4, 1/4, none
    q = np.array([0.5, 0.25, 0.25, 1e-4])  # the empty bin is floored at 1e-4
    expected = float(np.sum((q - 0.25) * np.log(q / 0.25)))
    assert psi(reference, recent, bins=4) == pytest.approx(expected)
    assert expected == pytest.approx(2.1285, abs=1e-4)
    assert psi(reference, reference, bins=4) == 0.0


def test_psi_follows_the_conventions() -> None:
    same = RNG.standard_normal(5000)
    assert psi(REFERENCE, same) < 0.1  # stable
    assert 0.1 <= psi(REFERENCE, same + 0.45) < 0.25  # moderate
    assert psi(REFERENCE, same + 1.0) >= 0.25  # a lot
    # For a Gaussian mean shift d the index approaches d**2 (the symmetric KL) from below.
    shifted = psi(REFERENCE, RNG.standard_normal(200_000) + 0.5)
    assert 0.8 * 0.25 < shifted < 0.25


def test_empty_bins_keep_the_index_finite() -> None:
    outside = np.full(100, 50.0)  # all in the top bin, where the reference has 10 %
    value = psi(REFERENCE, outside)
    assert math.isfinite(value) and value > 2.0
    assert math.isfinite(psi(np.zeros(50), np.ones(50)))  # a constant reference


def test_ks_statistic() -> None:
    d, p = ks_test(REFERENCE, REFERENCE)
    assert d == 0.0 and p == pytest.approx(1.0)
    d, p = ks_test(REFERENCE, REFERENCE + 100.0)
    assert d == 1.0 and p < 1e-10


def test_bad_inputs_name_their_field() -> None:
    with pytest.raises(InputError, match="at least 2 bins"):
        psi(REFERENCE, REFERENCE, bins=1)
    with pytest.raises(InputError, match="reference window holds no finite values"):
        psi([math.nan], REFERENCE)
    with pytest.raises(InputError, match="recent window holds no finite values"):
        psi(REFERENCE, [])


def test_feature_verdicts() -> None:
    levels = DriftThresholds(min_rows=50)
    recent = RNG.standard_normal(300)
    assert feature_drift("p", REFERENCE, recent[:10], levels).status == "insufficient"
    assert feature_drift("p", REFERENCE, recent, levels).status == "stable"
    assert feature_drift("p", REFERENCE, recent + 0.45, levels).status == "moderate"
    drifted = feature_drift("p", REFERENCE, recent + 1.5, levels)
    assert drifted.status == "drift" and drifted.drifted
    assert drifted.shift == pytest.approx(1.5, abs=0.2)
    assert drifted.psi >= 0.25 and drifted.ks >= 0.3
    condition = feature_drift("vibration", REFERENCE, recent + 1.5, levels, condition=True)
    assert condition.status == "condition" and not condition.drifted
    # A PSI alarm that the KS statistic does not confirm is not drift.
    strict = DriftThresholds(min_rows=50, ks_alarm=0.9)
    assert feature_drift("p", REFERENCE, recent + 1.5, strict).status == "moderate"


def test_precision_and_alarms_after_repairs() -> None:
    assert math.isnan(Precision().precision)
    judged = Precision(true=1, false=5, unknown=3)
    assert judged.judged == 6 and judged.precision == pytest.approx(1 / 6)
    assert judged.decayed(min_feedback=5, min_precision=0.5)
    assert not judged.decayed(min_feedback=7, min_precision=0.5)
    assert not Precision(true=4, false=2).decayed(min_feedback=5, min_precision=0.5)
    scores = np.array([0.5, 5.0, 6.0, np.nan, 7.0, 0.1])
    healthy = np.array([True, True, True, True, False, True])
    alarms = normal_alarms(scores, healthy, threshold=4.0, calibrated=0.01)
    assert (alarms.periods, alarms.above) == (4, 2)
    assert alarms.rate == 0.5 and alarms.decayed(factor=5.0, min_periods=4)
    assert not alarms.decayed(factor=5.0, min_periods=12)
    assert math.isnan(NormalAlarms().rate)


@pytest.fixture(scope="module")
def monitor() -> ConditionMonitor:
    return ConditionMonitor(smoothing="1h").fit(machine_buckets(hours=24 * 5, seed=1))


def test_deviations_are_per_bucket(monitor: ConditionMonitor) -> None:
    fresh = machine_buckets(hours=48, seed=2)
    sigma = deviations(monitor, fresh, "10min")
    assert list(sigma.columns) == list(monitor.signals_)
    assert len(sigma) == len(fresh)  # every bucket at work, not hourly medians
    assert abs(float(sigma.median().median())) < 0.5
    shifted = fresh.assign(acoustic=fresh["acoustic"] * 1.05)
    moved = deviations(monitor, shifted, "10min")["acoustic"].median()
    assert moved > 3.0  # a 5 % shift is several sigmas of a steady signal
    assert monitor.smoothing == "1h"  # the monitor itself is untouched
    assert deviations(monitor, fresh.iloc[:0], "10min").empty


def test_holdout_nll_is_a_proper_score(monitor: ConditionMonitor) -> None:
    held = machine_buckets(hours=48, seed=3)
    good = holdout_nll(monitor, held, "10min")
    assert good.rows == len(held) and set(good.per_signal) == set(monitor.signals_)
    # A normal that no longer fits the plant scores worse ...
    drifted = held.assign(current=held["current"] * 1.05)
    assert holdout_nll(monitor, drifted, "10min").nll > good.nll + 0.5
    # ... and so does one that merely claims more spread (it cannot game the score).
    wide = copy.copy(monitor)
    wide.scale_ = monitor.scale_ * 3.0
    assert holdout_nll(wide, held, "10min").nll > good.nll
    # Capping bounds what a few broken buckets can do.
    broken = held.copy()
    broken.loc[broken.index[:3], "vibration"] = 1e6
    capped = holdout_nll(monitor, broken, "10min", z_cap=10.0)
    assert capped.nll < good.nll + 1.0
    with pytest.raises(InputError, match="no held-out buckets"):
        holdout_nll(monitor, held.assign(speed=0.0), "10min")


def test_scores_do_not_depend_on_row_order(monitor: ConditionMonitor) -> None:
    held = machine_buckets(hours=24, seed=4)
    shuffled = held.sample(frac=1.0, random_state=0)
    a = holdout_nll(monitor, held, "10min").nll
    b = holdout_nll(monitor, shuffled.sort_index(), "10min").nll
    assert a == pytest.approx(b)
    assert isinstance(deviations(monitor, held, "10min").index, pd.DatetimeIndex)
