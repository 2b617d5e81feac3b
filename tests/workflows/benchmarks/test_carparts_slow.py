"""Issue 5 acceptance on the real car-parts data (the targets that hold; see BENCHMARKS.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shopfloor.workflows.benchmarks.carparts import run_carparts
from tests.conftest import SHARED_DATASETS

DATA = SHARED_DATASETS / "carparts" / "carparts.csv"


@pytest.mark.slow
def test_carparts_quantiles_beat_every_baseline_and_cover_their_level() -> None:
    report = run_carparts(DATA, baselines=("ses", "tsb", "imapa", "zero"))
    out = report.as_dict()
    assert out["series"] > 2_400
    assert out["rmsse"] <= 0.45
    assert 0.88 <= out["coverage_90"] <= 0.94
    for name, scores in out["baselines"].items():
        assert out["spl"] < scores["spl"], name
    assert out["rmsse"] < out["baselines"]["zero"]["rmsse"]
    # the Monash convention reproduces the published zero-forecast figure
    assert out["zero_mase_monash_h12"] == pytest.approx(0.746, abs=0.001)


def test_import_supply_does_not_import_statsforecast_or_lightgbm() -> None:
    code = (
        "import sys, shopfloor.supply, shopfloor.supply.forecasting, "
        "shopfloor.supply.local_models; "
        "print('statsforecast' in sys.modules or 'lightgbm' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
