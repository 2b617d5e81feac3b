"""Multivariate process monitors on synthetic correlated data: limits, detection, contract."""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError, ModelError, NotFittedError
from shopfloor.quality.monitoring import (
    Chart,
    DynamicPcaMonitor,
    EwmsMonitor,
    EwmsScores,
    PcaMonitor,
    PcaScores,
)

P = 8
_LOADINGS = np.random.default_rng(0).normal(size=(3, P))


def normal(n: int, seed: int) -> np.ndarray:
    """Three latent factors drive eight variables, plus independent noise."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) @ _LOADINGS + 0.5 * rng.normal(size=(n, P)) + 10.0


MONITORS = {
    "pca_theory": lambda: PcaMonitor(n_components=3, limits="theory"),
    "pca_empirical": lambda: PcaMonitor(n_components=3, limits="empirical"),
    "dpca": lambda: DynamicPcaMonitor(lags=2, n_components=6),
    "ewms": EwmsMonitor,
}


def alarms(monitor: PcaMonitor | EwmsMonitor, X: np.ndarray) -> np.ndarray:
    return monitor.score(X).alarms


@pytest.mark.parametrize("name", sorted(MONITORS))
def test_contract_shapes_and_determinism(name: str) -> None:
    X = normal(600, seed=1)
    monitor = MONITORS[name]()
    assert not monitor.is_fitted
    assert monitor.fit(X) is monitor
    scores = monitor.score(normal(200, seed=2))
    assert isinstance(scores, PcaScores | EwmsScores)
    assert scores.alarms.shape == (200,) and scores.alarms.dtype == np.bool_
    again = MONITORS[name]().fit(X).score(normal(200, seed=2))
    assert np.array_equal(scores.alarms, again.alarms)
    clone = monitor.clone()
    assert clone.get_params() == monitor.get_params() and not clone.is_fitted


def test_pca_scores_and_contributions_add_up() -> None:
    monitor = PcaMonitor(n_components=3).fit(normal(600, seed=1))
    scores = monitor.score(normal(300, seed=2))
    for chart in (scores.t2, scores.q, scores.combined):
        assert isinstance(chart, Chart) and chart.values.shape == (300,)
        assert np.array_equal(chart.alarms, chart.values > chart.limit)
    assert np.allclose(scores.t2_contributions.sum(axis=1), scores.t2.values)
    assert np.allclose(scores.q_contributions.sum(axis=1), scores.q.values)
    assert scores.t2_contributions.shape == (300, P) and (scores.t2_contributions >= 0).all()
    # the joint limits are stricter than each statistic's own
    assert monitor.t2_joint_limit_ > monitor.t2_limit_
    assert monitor.q_joint_limit_ > monitor.q_limit_


def test_ewms_contributions_add_up() -> None:
    scores = EwmsMonitor(levels=True).fit(normal(600, seed=1)).score(normal(300, seed=2))
    assert scores.contributions.shape == (300, P)
    assert np.allclose(scores.contributions.sum(axis=1), scores.statistic.values)
    assert (scores.residual_ewms > 0).all() and (scores.level_ewms != 1).any()
    plain = EwmsMonitor().fit(normal(600, seed=1)).score(normal(300, seed=2))
    assert (plain.level_contributions == 0).all() and (plain.level_ewms == 1).all()


def test_dpca_first_lags_have_no_statistic() -> None:
    scores = DynamicPcaMonitor(lags=3, n_components=6).fit(normal(600, 1)).score(normal(50, 2))
    assert np.isnan(scores.t2.values[:3]).all() and not scores.alarms[:3].any()
    assert np.isfinite(scores.t2.values[3:]).all()
    assert scores.t2_contributions.shape == (50, P)


@pytest.mark.parametrize(
    ("name", "tolerance"),
    [("pca_theory", 0.015), ("pca_empirical", 0.02), ("dpca", 0.025), ("ewms", 0.03)],
)
def test_limits_give_the_nominal_false_alarm_rate(name: str, tolerance: float) -> None:
    monitor = MONITORS[name]().fit(normal(2000, seed=3))
    rate = alarms(monitor, normal(20000, seed=4)).mean()
    assert abs(rate - 0.05) <= tolerance, rate


def test_theory_limits_per_statistic() -> None:
    monitor = PcaMonitor(n_components=3, limits="theory", alpha=0.01).fit(normal(3000, 5))
    scores = monitor.score(normal(30000, seed=6))
    assert abs(scores.t2.alarm_rate - 0.01) < 0.004
    assert abs(scores.q.alarm_rate - 0.01) < 0.004
    assert abs(scores.combined.alarm_rate - 0.01) < 0.004


def faulty(kind: str) -> np.ndarray:
    X = normal(400, seed=7)
    if kind == "mean shift":
        X[200:, 0] += 3.0 * 0.5  # three noise standard deviations, off the correlation
    elif kind == "variance up":
        X[200:, 2] += np.random.default_rng(8).normal(scale=1.5, size=200)
    elif kind == "stuck":
        X[200:, 4] = X[199, 4]  # a valve that stops moving
    return X


@pytest.mark.parametrize("kind", ["mean shift", "variance up", "stuck"])
def test_ewms_detects_faults(kind: str) -> None:
    monitor = EwmsMonitor().fit(normal(1000, seed=1))
    scores = monitor.score(faulty(kind))
    assert scores.alarms[230:].mean() > 0.9
    assert scores.alarms[:200].mean() < 0.15
    variable = {"mean shift": 0, "variance up": 2, "stuck": 4}[kind]
    assert scores.top_variables(300, k=1) == (variable,)


@pytest.mark.parametrize("kind", ["mean shift", "variance up"])
def test_pca_detects_faults(kind: str) -> None:
    monitor = PcaMonitor(n_components=3).fit(normal(1000, seed=1))
    scores = monitor.score(faulty(kind))
    # sample by sample, PCA sees a variance change only on the samples it pushes out
    assert scores.alarms[200:].mean() > {"mean shift": 0.5, "variance up": 0.25}[kind]
    assert scores.alarms[:200].mean() < 0.1
    variable = {"mean shift": 0, "variance up": 2}[kind]
    top = [scores.top_variables(i, k=1)[0] for i in np.flatnonzero(scores.alarms[200:]) + 200]
    assert np.mean(np.array(top) == variable) > 0.8


def test_input_errors() -> None:
    X = normal(300, seed=1)
    bad = X.copy()
    bad[10, 3] = np.nan
    with pytest.raises(InputError, match="row 11"):
        EwmsMonitor().fit(bad)
    with pytest.raises(InputError, match="2-D"):
        PcaMonitor().fit(X[:, 0])
    with pytest.raises(InputError, match="at least"):
        EwmsMonitor().fit(X[:10])
    with pytest.raises(NotFittedError):
        PcaMonitor().score(X)
    for monitor in (PcaMonitor().fit(X), EwmsMonitor().fit(X)):
        with pytest.raises(InputError, match="fitted on 8"):
            monitor.score(X[:, :7])
        with pytest.raises(InputError, match="finite"):
            monitor.score(bad)
    with pytest.raises(ModelError, match="alpha"):
        EwmsMonitor(alpha=0.7).fit(X)
    with pytest.raises(ModelError, match="limits"):
        PcaMonitor(limits="guess").fit(X)
    with pytest.raises(ModelError, match="lam"):
        EwmsMonitor(lam=0.0).fit(X)
