"""FailureModeClassifier: physical features, the estimator contract, no target leakage."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from shopfloor.errors import ModelError, NotFittedError
from shopfloor.maintenance.failure_modes import (
    FailureModeClassifier,
    best_f1_threshold,
    physical_features,
)
from shopfloor.maintenance.results import FailureRisk
from tests.maintenance.ai4i_frames import INPUTS, MODES, ai4i_frame

FAST: dict[str, Any] = {
    "n_estimators": 40,
    "max_bin": 1023,
    "inner_folds": 2,
    "min_child_samples": 5,
}


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return ai4i_frame(1200, seed=1), ai4i_frame(800, seed=2)


@pytest.fixture(scope="module")
def fitted(frames: tuple[pd.DataFrame, pd.DataFrame]) -> FailureModeClassifier:
    train, _ = frames
    return FailureModeClassifier(**FAST).fit(train[INPUTS], train[[*MODES, "Machine failure"]])


def test_physical_features_are_the_physics() -> None:
    X = pd.DataFrame(
        {
            "air": [300.0, 301.0],
            "proc": [310.0, 309.0],
            "rpm": [60 / (2 * math.pi), 1500.0],
            "tq": [10.0, 40.0],
            "wear": [100.0, 200.0],
            "grade": ["L", "X"],
        }
    )
    out = physical_features(
        X,
        air_temperature="air",
        process_temperature="proc",
        rotational_speed="rpm",
        torque="tq",
        tool_wear="wear",
        product_type="grade",
        strain_limits={"L": 2000.0},
    )
    assert list(out.columns) == ["temperature_difference", "power", "strain", "strain_ratio"]
    np.testing.assert_allclose(out["temperature_difference"], [10.0, 8.0])
    np.testing.assert_allclose(out["power"], [10.0, 40 * 1500 * 2 * math.pi / 60])
    np.testing.assert_allclose(out["strain"], [1000.0, 8000.0])
    assert out["strain_ratio"].iloc[0] == pytest.approx(0.5)
    assert math.isnan(out["strain_ratio"].iloc[1])  # a type without a limit


def test_features_are_skipped_when_columns_are_absent() -> None:
    X = pd.DataFrame({"tq": [1.0, 2.0], "rpm": [100.0, 200.0]})
    out = physical_features(
        X,
        air_temperature="air",
        process_temperature=None,
        rotational_speed="rpm",
        torque="tq",
        tool_wear="wear",
        product_type="Type",
        strain_limits={"L": 1.0},
    )
    assert list(out.columns) == ["power"]


def test_predict_proba_returns_failure_risk(
    fitted: FailureModeClassifier, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, test = frames
    risk = fitted.predict_proba(test[INPUTS])
    assert isinstance(risk, FailureRisk)
    assert risk.probability.shape == (len(test),)
    assert list(risk.modes.columns) == MODES
    assert risk.modes.index.equals(test.index)
    assert ((risk.probability >= 0) & (risk.probability <= 1)).all()
    assert ((risk.modes.to_numpy() >= 0) & (risk.modes.to_numpy() <= 1)).all()
    assert 0 < risk.threshold < 1
    assert risk.threshold == fitted.threshold_
    assert fitted.modes_ == tuple(MODES)


def test_learns_the_rule_based_failures(
    fitted: FailureModeClassifier, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    _, test = frames
    risk = fitted.predict_proba(test[INPUTS])
    assert f1_score(test["Machine failure"], risk.predicted) >= 0.8
    for mode in ("HDF", "PWF", "OSF"):
        assert roc_auc_score(test[mode], risk.modes[mode]) >= 0.95, mode


def test_failure_modes_and_ids_are_never_inputs(
    fitted: FailureModeClassifier, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    train, _ = frames
    for name in [*MODES, "Machine failure", "UDI", "Product ID"]:
        assert not any(name in feature for feature in fitted.feature_names_), name
    assert "feature:strain_ratio" in fitted.feature_names_
    # handing the mode flags in X with them as targets is refused, not silently used
    with pytest.raises(ModelError, match="must not be inputs"):
        FailureModeClassifier(**FAST).fit(train, train[[*MODES, "Machine failure"]])
    # the whole frame with only the overall flag as target: identifiers and flags dropped
    rest = train.drop(columns=["Machine failure"])
    model = FailureModeClassifier(**FAST).fit(rest, train[["Machine failure"]])
    assert set(model.input_columns_) == set(INPUTS)
    assert model.modes_ == ()


def test_shuffled_labels_score_near_chance(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = frames
    rng = np.random.default_rng(5)
    labels = train[[*MODES, "Machine failure"]]
    shuffled = labels.iloc[rng.permutation(len(labels))].set_index(labels.index)
    model = FailureModeClassifier(**FAST).fit(train[INPUTS], shuffled)
    auc = roc_auc_score(test["Machine failure"], model.predict_proba(test[INPUTS]).probability)
    assert 0.38 <= auc <= 0.62


def test_other_column_names_are_configurable() -> None:
    data = ai4i_frame(600, seed=3)
    names = dict(
        zip(INPUTS, ["grade", "t_air", "t_proc", "speed", "torque_nm", "wear_min"], strict=True)
    )
    X = data[INPUTS].rename(columns=names)
    model = FailureModeClassifier(
        **FAST,
        air_temperature="t_air",
        process_temperature="t_proc",
        rotational_speed="speed",
        torque="torque_nm",
        tool_wear="wear_min",
        product_type="grade",
        strain_limits={"L": 11000.0, "M": 12000.0, "H": 13000.0},
    ).fit(X, data[["HDF", "PWF", "OSF"]])
    assert {
        "feature:temperature_difference",
        "feature:power",
        "feature:strain",
        "feature:strain_ratio",
    } <= set(model.feature_names_)
    # no overall column in y: the overall target is "any mode"
    assert model.modes_ == ("HDF", "PWF", "OSF")
    risk = model.predict_proba(X)
    assert risk.modes.shape == (600, 3)


def test_plain_columns_without_physics() -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = pd.DataFrame({"fault": (X["a"] > 1.0).astype(int)})
    model = FailureModeClassifier(**FAST).fit(X, y)
    assert model.feature_names_ == ("a", "b")
    assert model.predict_proba(X).probability.shape == (300,)


def test_rare_mode_gets_a_constant_probability() -> None:
    data = ai4i_frame(300, seed=4)
    y = data[["HDF", "PWF"]].assign(RARE=0)
    y.loc[y.index[0], "RARE"] = 1
    model = FailureModeClassifier(**FAST).fit(data[INPUTS], y)
    rare = model.predict_proba(data[INPUTS]).modes["RARE"]
    assert np.allclose(rare, 1 / 300)


def test_same_seed_same_result_and_clone(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, test = frames
    small = train.iloc[:400]
    a = FailureModeClassifier(**FAST, seed=7).fit(small[INPUTS], small[MODES])
    b = a.clone().fit(small[INPUTS], small[MODES])
    assert not a.clone().is_fitted
    assert a.get_params() == b.get_params()
    np.testing.assert_array_equal(
        a.predict_proba(test[INPUTS]).probability, b.predict_proba(test[INPUTS]).probability
    )
    assert a.threshold_ == b.threshold_


def test_errors(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, _ = frames
    X, y = train[INPUTS], train[MODES]
    with pytest.raises(NotFittedError):
        FailureModeClassifier().predict_proba(X)
    with pytest.raises(ModelError, match="only 0 and 1"):
        FailureModeClassifier(**FAST).fit(X, y.assign(TWF=2))
    with pytest.raises(ModelError, match="rows"):
        FailureModeClassifier(**FAST).fit(X.iloc[:10], y)
    with pytest.raises(ModelError, match="DataFrame"):
        FailureModeClassifier(**FAST).fit(X.to_numpy(), y)  # type: ignore[arg-type]
    model = FailureModeClassifier(**FAST).fit(X.iloc[:300], y.iloc[:300])
    with pytest.raises(ModelError, match="Torque"):
        model.predict_proba(X.drop(columns=["Torque [Nm]"]))
    with pytest.raises(ModelError, match="hyperparameter"):
        model.set_params(depth=3)


def test_best_f1_threshold() -> None:
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.35, 0.8, 0.9])
    threshold, f1 = best_f1_threshold(y, p)
    # calling the top four catches all three positives with one false alarm: F1 = 6/7
    assert f1 == pytest.approx(6 / 7)
    assert threshold == pytest.approx(0.25)  # halfway to the next lower score
    assert best_f1_threshold(np.zeros(3), np.ones(3)) == (0.5, 0.0)
