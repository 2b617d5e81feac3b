"""From a raw frame of units to regime-normalised signals every RUL model shares.

The steps, all learned in ``fit`` on training rows only: pick the settings and signal
columns, find the operating regimes, normalise every signal per regime, and drop
channels with nothing to say (constant or flag-like inside every regime).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from shopfloor.errors import InputError
from shopfloor.estimators import Estimator
from shopfloor.maintenance.features import group_starts, last_row_positions, sorted_positions
from shopfloor.maintenance.regimes import OperatingRegimes, RegimeNormalizer, informative_columns

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PreparedUnits:
    """Rows sorted by unit then time, with regime-normalised signals."""

    unit: npt.NDArray[np.object_]  # per row
    time: FloatArray  # per row
    signals: FloatArray  # rows x channels, regime-normalised
    channels: tuple[str, ...]
    starts: IntArray  # per row: position of its unit's first row
    order: IntArray  # per row: its position in the caller's frame

    @property
    def last_rows(self) -> IntArray:
        """Positions of each unit's last row, in unit order."""
        return last_row_positions(self.unit)

    @property
    def position_in_unit(self) -> IntArray:
        """0 for each unit's first row, 1 for its second, ..."""
        return np.arange(len(self.unit), dtype=np.int64) - self.starts


def check_rul_frame(frame: pd.DataFrame, unit: str, time: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError("RUL models take a DataFrame with unit, time and signal columns")
    for name in (unit, time):
        if name not in frame.columns:
            raise InputError("column is missing", field=name)
    if len(frame) == 0:
        raise InputError("no rows")
    if not pd.api.types.is_numeric_dtype(frame[time]):
        raise InputError("time must be numeric (cycles, hours)", field=time)


def check_rul_target(rul: npt.ArrayLike, n_rows: int) -> FloatArray:
    target = np.asarray(rul, dtype=np.float64)
    if target.shape != (n_rows,):
        raise InputError(f"need one RUL value per row: {n_rows} rows, got shape {target.shape}")
    if not np.all(np.isfinite(target)) or np.any(target < 0):
        raise InputError("RUL values must be finite and non-negative")
    return target


class UnitPreparer(Estimator):
    """Learns column roles, regimes and per-regime normals; turns frames into arrays.

    ``settings=None`` takes every column whose name starts with ``setting``;
    ``signals=None`` takes every other numeric column except unit and time.
    """

    def __init__(
        self,
        *,
        unit: str = "unit",
        time: str = "cycle",
        settings: Sequence[str] | None = None,
        signals: Sequence[str] | None = None,
        seed: int | None = 0,
    ) -> None:
        self.unit = unit
        self.time = time
        self.settings = settings
        self.signals = signals
        self.seed = seed

    def _roles(self, frame: pd.DataFrame) -> tuple[list[str], list[str]]:
        settings = (
            list(self.settings)
            if self.settings is not None
            else [str(c) for c in frame.columns if str(c).lower().startswith("setting")]
        )
        key = {self.unit, self.time, *settings}
        signals = (
            list(self.signals)
            if self.signals is not None
            else [
                str(c)
                for c in frame.columns
                if c not in key and pd.api.types.is_numeric_dtype(frame[c])
            ]
        )
        for name in (*settings, *signals):
            if name not in frame.columns:
                raise InputError("column is missing", field=name)
            if not pd.api.types.is_numeric_dtype(frame[name]):
                raise InputError("column must be numeric", field=name)
        if not signals:
            raise InputError("no numeric signal columns besides unit, time and settings")
        return settings, signals

    def fit(self, frame: pd.DataFrame) -> Self:
        check_rul_frame(frame, self.unit, self.time)
        settings, signals = self._roles(frame)
        self.settings_ = settings
        self.signals_all_ = signals
        self.regimes_ = OperatingRegimes(seed=self.seed)
        if settings:
            self.regimes_.fit(frame[settings])
            labels = self.regimes_.predict(frame[settings])
        else:
            self.regimes_.fit(np.zeros((len(frame), 1)))
            labels = np.zeros(len(frame), dtype=np.int64)
        self.normalizer_ = RegimeNormalizer().fit(frame[signals], labels)
        normalised = self.normalizer_.transform(frame[signals], labels)
        self.channels_ = tuple(informative_columns(normalised, signals, labels))
        if not self.channels_:
            raise InputError("every signal column is constant inside its operating regime")
        self.time_scale_ = float(frame.groupby(self.unit)[self.time].max().median()) or 1.0
        return self

    @property
    def n_regimes(self) -> int:
        self._check_fitted()
        return self.regimes_.n_regimes_

    def transform(self, frame: pd.DataFrame) -> PreparedUnits:
        self._check_fitted()
        check_rul_frame(frame, self.unit, self.time)
        for name in (*self.settings_, *self.signals_all_):
            if name not in frame.columns:
                raise InputError("column is missing", field=name)
        order = sorted_positions(frame, group=self.unit, order=self.time)
        rows = frame.iloc[order]
        if self.settings_:
            labels = self.regimes_.predict(rows[self.settings_])
        else:
            labels = np.zeros(len(rows), dtype=np.int64)
        normalised = self.normalizer_.transform(rows[self.signals_all_], labels)
        keep = [self.signals_all_.index(c) for c in self.channels_]
        units = rows[self.unit].to_numpy(dtype=object)
        return PreparedUnits(
            unit=units,
            time=rows[self.time].to_numpy(dtype=np.float64),
            signals=np.ascontiguousarray(normalised[:, keep]),
            channels=self.channels_,
            starts=group_starts(units),
            order=order,
        )
