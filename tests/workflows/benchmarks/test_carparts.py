"""The car-parts benchmark protocol on a small generated file, and its bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from shopfloor.cli.main import app
from shopfloor.errors import InputError
from shopfloor.workflows.benchmarks.carparts import load_carparts, run_carparts


def _write(path: Path, values: np.ndarray) -> Path:
    months = [f"{1998 + m // 12}-{m % 12 + 1:02d}" for m in range(values.shape[1])]
    lines = ["part_id," + ",".join(months)]
    for i, row in enumerate(values):
        cells = ["" if np.isnan(v) else str(int(v)) for v in row]
        lines.append(f"P{i:04d}," + ",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


def _sample(n: int = 40, t: int = 51, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = rng.poisson(rng.uniform(0.1, 2.0, size=n)[:, None], size=(n, t)).astype(np.float64)
    y[:5, :12] = np.nan  # recorded late
    return y


def test_the_report_scores_ours_and_every_baseline(tmp_path: Path) -> None:
    data = _write(tmp_path / "carparts.csv", _sample())
    report = run_carparts(data, horizon=6, baselines=("ses", "croston", "tsb", "zero"))
    out = report.as_dict()
    for key in ("mase", "mase_monash_h12", "rmsse", "spl", "coverage_90", "series", "seconds"):
        assert key in out
    assert set(out["baselines"]) == {"ses", "croston", "tsb", "zero", "empirical_12"}
    assert 0 < out["series"] <= 40
    assert 0.0 <= out["coverage_90"] <= 1.0
    # the zero forecast's SPL is the mean level over the scale: a hand check of the scale
    zero = out["baselines"]["zero"]
    assert zero["spl"] > 0 and np.isfinite(zero["rmsse"])
    # on stationary Poisson demand a calibrated forecaster beats forecasting nothing
    assert out["spl"] < zero["spl"]


def test_the_directory_form_and_the_cli(tmp_path: Path) -> None:
    _write(tmp_path / "carparts.csv", _sample(n=25))
    assert load_carparts(tmp_path).shape == (25, 51)
    result = CliRunner().invoke(
        app, ["benchmark", "carparts", "--data", str(tmp_path), "--horizon", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["horizon"] == 3 and "naive" in payload["baselines"]


@pytest.mark.parametrize(
    ("content", "field", "row"),
    [
        ("part_id,1998-01\n", None, None),
        ("id,a,b,c,d,e,f,g,h\nx,1,2,3,4,5,6,7,8\n", "part_id", None),
        ("part_id,a,b,c,d,e,f,g,h\nx,1,2,3,-4,5,6,7,8\n", "d", 1),
        ("part_id,a,b,c,d,e,f,g,h\nx,1,2,3,4,5,6,7,8\ny,1,lots,3,4,5,6,7,8\n", "b", 2),
    ],
)
def test_bad_files_name_the_row_and_field(
    tmp_path: Path, content: str, field: str | None, row: int | None
) -> None:
    path = tmp_path / "carparts.csv"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_carparts(path)
    assert info.value.field == field and info.value.row == row


def test_a_missing_file_and_a_horizon_too_long(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_carparts(tmp_path / "nope.csv")
    data = _write(tmp_path / "carparts.csv", _sample(n=5))
    with pytest.raises(InputError) as info:
        run_carparts(data, horizon=45)
    assert info.value.field == "horizon"
