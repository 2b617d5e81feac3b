"""Anomaly detectors: calibration, detection and explanation, context, contract, errors."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from shopfloor.catalogue import CATALOGUE, CatalogueEntry
from shopfloor.errors import InputError, ModelError, NotFittedError
from shopfloor.maintenance.anomaly import (
    AnomalyDetector,
    EnsembleDetector,
    IsolationForestDetector,
    MsetDetector,
    PcaT2Q,
    RobustBaseline,
    trailing_mean,
)
from shopfloor.maintenance.results import AnomalyScores
from tests.maintenance.anomaly.anomaly_data import normal_frame, with_fault

DETECTORS: dict[str, AnomalyDetector] = {
    "robust": RobustBaseline(),
    "pca": PcaT2Q(),
    "forest": IsolationForestDetector(n_estimators=100, calibration_folds=0),
    "mset": MsetDetector(),
    "ensemble": EnsembleDetector(),
}


@pytest.mark.parametrize("name", ["robust", "pca", "mset", "ensemble"])
def test_calibrated_threshold_gives_about_the_target_rate_on_fresh_normal_data(name: str) -> None:
    detector = DETECTORS[name].clone().set_params(false_alarm_rate=0.02)
    detector.fit(normal_frame(1500, seed=1))
    flagged = detector.score(normal_frame(6000, seed=2)).is_anomaly.mean()
    assert 0.005 <= flagged <= 0.05, flagged


def test_isolation_forest_calibration_and_seed() -> None:
    train, fresh = normal_frame(1000, seed=1), normal_frame(4000, seed=2)
    one = IsolationForestDetector(n_estimators=60, false_alarm_rate=0.02, seed=3).fit(train)
    two = IsolationForestDetector(n_estimators=60, false_alarm_rate=0.02, seed=3).fit(train)
    flagged = one.score(fresh).is_anomaly.mean()
    assert 0.005 <= flagged <= 0.06, flagged
    np.testing.assert_array_equal(one.score(fresh).score, two.score(fresh).score)


@pytest.mark.parametrize("name", list(DETECTORS))
@pytest.mark.parametrize(("signal", "offset", "sign"), [("vibration", 0.8, 1), ("flow", -14.0, -1)])
def test_injected_fault_is_detected_and_explained_by_its_signal(
    name: str, signal: str, offset: float, sign: int
) -> None:
    detector = DETECTORS[name].clone().fit(normal_frame(600, seed=3))
    test = with_fault(normal_frame(400, seed=4), signal, offset, 200, 300)
    scores = detector.score(test)
    assert isinstance(scores, AnomalyScores)
    assert scores.is_anomaly[:200].mean() < 0.1
    if name == "forest":
        # A forest isolates a shift in one of four signals only when it splits on that
        # signal, and its score saturates: it ranks the fault higher but flags little.
        assert scores.score[200:300].mean() > scores.score[:200].mean()
    else:
        assert scores.is_anomaly[200:300].mean() > 0.9
    assert scores.deviation_sigma.shape == (400, 4)
    assert scores.expected.shape == (400, 4)
    peak = 200 + int(np.argmax(scores.score[200:300]))
    top = scores.explain(peak, test, top=2, units={signal: "u"})[0]
    assert top.signal == signal
    assert np.sign(top.sigma) == sign
    assert top.unit == "u"
    assert ("above" if sign > 0 else "below") in top.describe()


def test_mset_sees_a_broken_relation_that_each_signal_alone_hides() -> None:
    train = normal_frame(800, seed=3)
    # Flow 2.4 sigma low while current (same load) says it should not be: a blocked line.
    test = with_fault(normal_frame(400, seed=4), "flow", -5.0, 200, 300)
    mset = MsetDetector().fit(train).score(test)
    robust = RobustBaseline().fit(train).score(test)
    assert mset.is_anomaly[200:300].mean() > 0.8
    assert robust.is_anomaly[200:300].mean() < 0.4
    assert mset.deviation_sigma["flow"].iloc[200:300].median() < -3


def test_expected_values_are_in_units() -> None:
    scores = RobustBaseline().fit(normal_frame(500)).score(normal_frame(50, seed=9))
    assert scores.expected["flow"].iloc[0] == pytest.approx(40.0, abs=0.3)
    mset = MsetDetector().fit(normal_frame(500)).score(normal_frame(50, seed=9))
    # MSET's expected flow follows the current (shared load), not just the mean.
    assert np.corrcoef(mset.expected["flow"], mset.expected["current"])[0, 1] > 0.8


def _speed_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    speed = rng.choice([1000.0, 3000.0], rows)
    vibration = np.where(speed > 2000, 4.0, 1.0) + rng.normal(0, 0.1, rows)
    return pd.DataFrame(
        {"speed": speed, "vibration": vibration, "temperature": 50 + rng.normal(0, 0.3, rows)},
        index=pd.date_range("2026-01-01", periods=rows, freq="1s"),
    )


def test_context_conditions_the_normal_on_operating_speed() -> None:
    train = _speed_frame(800, seed=5)
    test = _speed_frame(200, seed=6)
    slow = np.flatnonzero(test["speed"].to_numpy() < 2000)[:20]
    test.iloc[slow, test.columns.get_loc("vibration")] = 2.5  # fine at high speed, not at low
    with_context = RobustBaseline(context=("speed",)).fit(train)
    scores = with_context.score(test)
    assert list(scores.deviation_sigma.columns) == ["vibration", "temperature"]
    assert scores.is_anomaly[slow].all()
    others = np.setdiff1d(np.arange(200), slow)
    assert scores.is_anomaly[others].mean() < 0.1
    top = scores.explain(int(slow[0]), test)[0]
    assert top.signal == "vibration" and top.sigma > 3
    assert top.expected == pytest.approx(1.0, abs=0.1)
    # Without context the bimodal normal hides the fault.
    plain = RobustBaseline().fit(train).score(test)
    assert plain.is_anomaly[slow].mean() < 0.5


def test_trailing_mean_ignores_missing_values_and_partial_windows() -> None:
    values = np.array([[1.0], [np.nan], [3.0], [5.0]])
    np.testing.assert_allclose(trailing_mean(values, 2)[:, 0], [1.0, 1.0, 3.0, 4.0])
    np.testing.assert_allclose(trailing_mean(values, 1)[:, 0], values[:, 0])


def test_missing_values_do_not_break_scoring() -> None:
    detector = MsetDetector(window=3).fit(normal_frame(300))
    test = normal_frame(20, seed=7)
    test.iloc[5, 0] = np.nan
    scores = detector.score(test)
    assert np.isfinite(scores.score).all()


def test_contract_params_clone_and_fitted_state() -> None:
    detector = RobustBaseline(window=3, context=None, false_alarm_rate=0.05)
    assert detector.get_params()["window"] == 3
    assert not detector.is_fitted
    assert detector.fit(normal_frame(200)) is detector
    assert detector.is_fitted and not detector.clone().is_fitted
    assert detector.threshold_ > 0
    ensemble = EnsembleDetector(members=(RobustBaseline(), PcaT2Q())).fit(normal_frame(200))
    assert ensemble.members[0].is_fitted is False  # the hyperparameter stays a blueprint
    assert len(ensemble.members_) == 2


def test_bad_input_is_refused() -> None:
    frame = normal_frame(100)
    with pytest.raises(NotFittedError):
        RobustBaseline().score(frame)
    with pytest.raises(InputError, match="not numeric"):
        RobustBaseline().fit(frame.assign(state="running"))
    with pytest.raises(InputError, match="missing"):
        RobustBaseline().fit(frame).score(frame.drop(columns="flow"))
    with pytest.raises(InputError, match="at least"):
        MsetDetector().fit(frame.iloc[:3])
    with pytest.raises(InputError, match="context"):
        RobustBaseline(context=("speed",)).fit(frame)
    with pytest.raises(InputError, match="DataFrame"):
        RobustBaseline().fit(frame.to_numpy())  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="false_alarm_rate"):
        RobustBaseline(false_alarm_rate=1.5).fit(frame)
    with pytest.raises(ModelError, match="aggregate"):
        MsetDetector(aggregate="mean").fit(frame)


OURS = [e for e in CATALOGUE if e.target.startswith("shopfloor.maintenance.anomaly.")]


def test_every_detector_is_in_the_catalogue() -> None:
    names = {e.target.rpartition(":")[2] for e in OURS}
    assert names == {type(d).__name__ for d in DETECTORS.values()}


@pytest.mark.parametrize("entry", OURS, ids=lambda e: e.name)
def test_catalogue_entries_fit_fast_on_small_data(entry: CatalogueEntry) -> None:
    frame = normal_frame(400, seed=8)
    started = time.perf_counter()
    detector = entry.build().fit(frame)
    assert time.perf_counter() - started < 5.0
    scores = detector.score(frame)  # type: ignore[attr-defined]
    assert scores.deviation_sigma.shape == frame.shape
