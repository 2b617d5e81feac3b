"""Small AI4I-2020-like frames: the dataset generator's failure rules on made-up rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

MODES = ["TWF", "HDF", "PWF", "OSF", "RNF"]
INPUTS = [
    "Type",
    "Air temperature [K]",
    "Process temperature [K]",
    "Rotational speed [rpm]",
    "Torque [Nm]",
    "Tool wear [min]",
]
LIMITS = {"L": 11000.0, "M": 12000.0, "H": 13000.0}


def ai4i_frame(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows in the UCI layout; spreads are wider than the real data's so that a
    few hundred rows hold enough failures of every rule-based mode."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(["L", "M", "H"], size=n, p=[0.6, 0.3, 0.1])
    air = np.round(300 + rng.normal(0, 2, n), 1)
    process = np.round(air + 9.6 + rng.normal(0, 1.2, n), 1)
    torque = np.round(np.clip(rng.normal(40, 14, n), 3, None), 1)
    speed = np.round(1540 - 14 * (torque - 40) + rng.normal(0, 120, n))
    wear = rng.integers(0, 250, n)
    power = torque * speed * 2 * np.pi / 60
    hdf = (process - air < 8.6) & (speed < 1380)
    pwf = (power < 3500) | (power > 9000)
    osf = torque * wear > pd.Series(kind).map(LIMITS).to_numpy()
    twf = (wear >= 200) & (wear <= 240) & (rng.random(n) < 0.1)
    rnf = rng.random(n) < 0.001
    failure = hdf | pwf | osf | twf
    return pd.DataFrame(
        {
            "UDI": np.arange(1, n + 1),
            "Product ID": [f"{k}{50000 + i}" for i, k in enumerate(kind)],
            "Type": kind,
            "Air temperature [K]": air,
            "Process temperature [K]": process,
            "Rotational speed [rpm]": speed,
            "Torque [Nm]": torque,
            "Tool wear [min]": wear,
            "Machine failure": failure.astype(int),
            "TWF": twf.astype(int),
            "HDF": hdf.astype(int),
            "PWF": pwf.astype(int),
            "OSF": osf.astype(int),
            "RNF": rnf.astype(int),
        }
    )
