"""RUL estimators on a generated multi-regime fleet: accuracy, short units, bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.maintenance.rul import (
    RulEnsemble,
    RulGbm,
    RulSequenceNet,
    piecewise_linear_rul,
    run_to_failure_rul,
)
from shopfloor.maintenance.rul.data import UnitPreparer
from tests.maintenance.rul.rul_frames import run_to_failure_fleet, truncate

CAP = 40.0
FAST_GBM = {"n_folds": 3, "n_estimators": 60, "windows": (3, 8), "cap": CAP}
FAST_CNN = {
    "n_folds": 3,
    "epochs": 20,
    "samples_per_epoch": 1024,
    "batch_size": 64,
    "learning_rate": 5e-3,
    "window": 10,
    "cap": CAP,
}


def test_targets() -> None:
    frame, rul = run_to_failure_fleet(units=3)
    np.testing.assert_array_equal(run_to_failure_rul(frame), rul)
    np.testing.assert_array_equal(piecewise_linear_rul([0, 50, 200], cap=125), [0, 50, 125])
    with pytest.raises(InputError):
        piecewise_linear_rul([1.0], cap=0)


def test_preparer_finds_regimes_and_drops_useless_channels() -> None:
    frame, _ = run_to_failure_fleet()
    preparer = UnitPreparer().fit(frame)
    assert preparer.n_regimes == 3
    assert preparer.settings_ == ["setting1", "setting2"]
    # "constant" carries nothing; "noise" has spread, so it stays (the model decides).
    assert set(preparer.channels_) == {"temp", "pressure", "noise"}
    data = preparer.transform(frame)
    # Per-regime normalisation removes the operating point from the signals.
    assert (
        abs(np.corrcoef(data.signals[:, 0], frame["setting1"].to_numpy()[data.order])[0, 1]) < 0.2
    )


@pytest.mark.parametrize(("model_type", "params"), [(RulGbm, FAST_GBM), (RulSequenceNet, FAST_CNN)])
def test_models_learn_the_fleet_and_handle_short_units(
    model_type: type[RulGbm] | type[RulSequenceNet], params: dict[str, object]
) -> None:
    train, rul = run_to_failure_fleet(units=18, seed=0)
    model = model_type(**params).fit(train, rul)  # type: ignore[arg-type]
    test, truth = truncate(*run_to_failure_fleet(units=10, seed=5))
    prediction = model.predict(test)
    assert list(prediction.unit) == sorted(test["unit"].unique())
    assert prediction.level == 0.9
    assert np.all(prediction.lower <= prediction.rul) and np.all(prediction.rul <= prediction.upper)
    assert np.all(prediction.lower >= 0) and np.all(prediction.rul <= CAP)
    capped = np.minimum(truth, CAP)
    error = np.sqrt(np.mean((prediction.rul - capped) ** 2))
    assert error < 0.5 * np.std(capped) + 3.0  # far better than the mean
    assert model.preparer_.n_regimes == 3


def test_ensemble_blends_members_and_reports_each() -> None:
    train, rul = run_to_failure_fleet(units=12, seed=2)
    params = {**FAST_CNN, "n_estimators": 40, "gbm_windows": (3, 8)}
    model = RulEnsemble(**params).fit(train, rul)  # type: ignore[arg-type]
    assert model.weights_.sum() == pytest.approx(1.0)
    assert set(model.oof_rmse_) == {"sequence", "gbm", "blend"}
    assert (
        model.oof_rmse_["blend"] <= min(model.oof_rmse_["sequence"], model.oof_rmse_["gbm"]) + 1e-9
    )
    test, _ = truncate(train, rul)
    members = model.predict_members(test)
    blended = model.predict(test).rul
    expected = np.clip(
        members["sequence"] * model.weights_[0] + members["gbm"] * model.weights_[1], 0, CAP
    )
    np.testing.assert_allclose(blended, expected, atol=1e-9)


def test_bad_input_is_refused() -> None:
    frame, rul = run_to_failure_fleet(units=4)
    model = RulGbm(**FAST_GBM)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="one RUL value per row"):
        model.fit(frame, rul[:-1])
    with pytest.raises(InputError, match="non-negative"):
        model.fit(frame, -rul)
    with pytest.raises(InputError, match="'cycle'"):
        model.fit(frame.drop(columns="cycle"), rul)
    with pytest.raises(InputError, match="at least 3 units"):
        model.fit(frame[frame["unit"] <= 2], rul[frame["unit"] <= 2])
    with pytest.raises(InputError, match="'hours'"):
        RulGbm(time="hours").fit(frame, rul)
    fitted = RulGbm(**FAST_GBM).fit(*run_to_failure_fleet(units=6))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="'temp'"):
        fitted.predict(frame.drop(columns="temp"))


def test_other_column_names_work() -> None:
    frame, rul = run_to_failure_fleet(units=6)
    renamed = frame.rename(columns={"unit": "machine", "cycle": "hours"})
    model = RulGbm(unit="machine", time="hours", **FAST_GBM).fit(renamed, rul)  # type: ignore[arg-type]
    assert len(model.predict(renamed).rul) == 6


def test_importing_rul_does_not_import_torch() -> None:
    code = (
        "import sys, shopfloor.maintenance.rul, shopfloor.catalogue; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
