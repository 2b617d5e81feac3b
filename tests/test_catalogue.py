"""Every estimator of the catalogue through the one contract (DESIGN section 6).

For each entry: hyperparameters round-trip, an unfitted model refuses to predict,
``fit`` returns ``self`` and leaves learned state in ``*_`` attributes, results are
frozen typed dataclasses, the same seed gives the same result, a pickled model
predicts the same, and ``fit`` does not change its input.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shopfloor.catalogue import CATALOGUE, CatalogueEntry, entry
from shopfloor.errors import NotFittedError
from shopfloor.maintenance.results import AnomalyScores, FailureRisk, RulPrediction


def _signals(seed: int, rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range("2026-01-01", periods=rows, freq="10min", tz="UTC", name="ts")
    speed = np.where(rng.random(rows) < 0.7, 1500.0, 600.0) + rng.normal(0, 5, rows)
    base = rng.standard_normal((rows, 3))
    return pd.DataFrame(
        {
            "speed": speed,
            "a": 1.0 + speed / 1000 + 0.05 * base[:, 0],
            "b": 5.0 + 0.3 * base[:, 1] + 0.2 * base[:, 0],
            "c": 20.0 + speed / 300 + 0.5 * base[:, 2],
        },
        index=index,
    )


def _anomaly(seed: int) -> tuple[tuple[Any, ...], pd.DataFrame]:
    return (_signals(seed),), _signals(seed + 100)


def _fleet(seed: int) -> tuple[tuple[Any, ...], pd.DataFrame]:
    train = pd.concat([_signals(seed).assign(asset="A"), _signals(seed + 1).assign(asset="B")])
    return (train,), _signals(seed + 100).assign(asset="A")


def _rul(seed: int) -> tuple[tuple[Any, ...], pd.DataFrame]:
    rng = np.random.default_rng(seed)
    frames, targets = [], []
    for unit in range(12):
        life = int(rng.integers(30, 50))
        cycle = np.arange(1, life + 1)
        wear = np.exp(3.0 * cycle / life) / np.e**3
        frames.append(
            pd.DataFrame(
                {
                    "unit": unit + 1,
                    "cycle": cycle,
                    "setting1": rng.normal(0, 0.001, life),
                    "s1": 1.0 + 10 * wear + rng.normal(0, 0.05, life),
                    "s2": 5.0 - 2 * wear + rng.normal(0, 0.05, life),
                    "s3": rng.normal(0, 1, life),
                }
            )
        )
        targets.append(life - cycle)
    frame = pd.concat(frames, ignore_index=True)
    return (frame, np.concatenate(targets).astype(float)), frame


def _failure_modes(seed: int) -> tuple[tuple[Any, ...], pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = 300
    x = pd.DataFrame({"load": rng.uniform(0, 1, rows), "heat": rng.uniform(0, 1, rows)})
    y = pd.DataFrame(
        {
            "overload": ((x["load"] > 0.8) | (rng.random(rows) < 0.02)).astype(int),
            "overheat": (x["heat"] > 0.85).astype(int),
        }
    )
    return (x, y), x


DATA: dict[str, Callable[[int], tuple[tuple[Any, ...], pd.DataFrame]]] = {
    "anomaly": _anomaly,
    "anomaly_fleet": _fleet,
    "rul": _rul,
    "failure_modes": _failure_modes,
}
PREDICT = {"anomaly": "score", "anomaly_fleet": "score", "rul": "predict"}
PREDICT["failure_modes"] = "predict_proba"
RESULT = {"anomaly": AnomalyScores, "rul": RulPrediction, "failure_modes": FailureRisk}


def _arrays(result: Any) -> list[np.ndarray]:
    if isinstance(result, dict):
        return [a for key in sorted(result) for a in _arrays(result[key])]
    out = []
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if isinstance(value, pd.DataFrame | pd.Series):
            out.append(value.to_numpy(dtype=float, na_value=np.nan))
        elif isinstance(value, np.ndarray) and value.dtype != object:
            out.append(value.astype(float))
        elif isinstance(value, float):
            out.append(np.array([value]))
    return out


def _check_result(task: str, result: Any) -> None:
    if task == "anomaly_fleet":
        assert isinstance(result, dict) and result
        for value in result.values():
            _check_result("anomaly", value)
        return
    assert isinstance(result, RESULT[task])
    assert dataclasses.is_dataclass(result)
    name = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, name, None)


def test_catalogue_names_are_unique_and_tasks_known() -> None:
    names = [e.name for e in CATALOGUE]
    assert len(names) == len(set(names))
    assert {e.task for e in CATALOGUE} <= set(DATA) | {"scheduling"}
    assert entry(names[0]) is CATALOGUE[0]
    with pytest.raises(KeyError, match="no estimator"):
        entry("nope")
    # Every analytics family this issue delivers is in the catalogue.
    tasks = {e.task for e in CATALOGUE}
    assert {"anomaly", "rul", "failure_modes", "scheduling"} <= tasks


LEARNING = [e for e in CATALOGUE if e.task != "scheduling"]
SCHEDULING = [e for e in CATALOGUE if e.task == "scheduling"]


@pytest.mark.parametrize("item", SCHEDULING, ids=lambda e: e.name)
def test_scheduler_contract(item: CatalogueEntry) -> None:
    from shopfloor.planning import Problem, Schedule, check_schedule

    model = item.build()
    params = model.get_params()
    assert model.clone().get_params() == params and not model.is_fitted
    problem = Problem.job_shop([[(0, 3), (1, 2)], [(1, 4), (0, 1)], [(0, 2), (1, 2)]])
    schedule = model.solve(problem)  # type: ignore[attr-defined]
    assert isinstance(schedule, Schedule) and model.is_fitted and model.schedule_ is schedule  # type: ignore[attr-defined]
    assert check_schedule(problem, schedule.assignments).feasible == schedule.feasible is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.makespan = 0  # type: ignore[misc]
    again = item.build().solve(problem)  # type: ignore[attr-defined]
    assert again.assignments == schedule.assignments
    restored = pickle.loads(pickle.dumps(model))
    assert restored.solve(problem).assignments == schedule.assignments
    assert not model.clone().is_fitted


@pytest.mark.parametrize("item", LEARNING, ids=lambda e: e.name)
def test_estimator_contract(item: CatalogueEntry) -> None:
    model = item.build()
    params = model.get_params()
    for key, value in item.fast_params.items():
        assert params[key] == value, key
    assert model.clone().get_params() == params
    fit_args, new = DATA[item.task](0)
    method = PREDICT[item.task]

    assert not model.is_fitted
    with pytest.raises(NotFittedError):
        getattr(model, method)(new)

    before = [a.copy() if isinstance(a, pd.DataFrame) else a for a in fit_args]
    assert model.fit(*fit_args) is model
    assert model.is_fitted
    learned = [k for k in vars(model) if k.endswith("_") and not k.startswith("_")]
    assert learned, "learned state must live in attributes ending in '_'"
    for original, passed in zip(before, fit_args, strict=True):
        if isinstance(original, pd.DataFrame):
            pd.testing.assert_frame_equal(original, passed)  # fit must not change its input

    result = getattr(model, method)(new)
    _check_result(item.task, result)

    again = item.build().fit(*DATA[item.task](0)[0])
    for a, b in zip(_arrays(result), _arrays(getattr(again, method)(new)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True)

    restored = pickle.loads(pickle.dumps(model))
    for a, b in zip(_arrays(result), _arrays(getattr(restored, method)(new)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True)
    assert not model.clone().is_fitted
