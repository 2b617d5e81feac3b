"""Capability indices and their intervals against textbook worked examples.

Sources (expected figures as printed, to the printed precision):

- Montgomery, D. C., *Introduction to Statistical Quality Control*, 6th ed., Wiley
  (2009), section 8.3.5 "Confidence intervals and tests on process capability ratios":
  Example 8.5 (USL = 62, LSL = 38, n = 20, s = 1.75: Ĉp = 2.29, 95% CI 1.57 to 3.01)
  and Example 8.6 (n = 20, Ĉpk = 1.33: 95% CI by Bissell's approximation 0.88 to 1.78);
  section 8.4 (piston rings, x̿ = 74.001, R̄ = 0.023 from subgroups of 5, specs
  74 ± 0.05: σ̂ = R̄ / d2 = 0.0099, Ĉp = 1.68).
- NIST/SEMATECH *e-Handbook of Statistical Methods*, section 6.1.6 "What is Process
  Capability?", https://www.itl.nist.gov/div898/handbook/pmc/section1/pmc16.htm
  (USL = 20, LSL = 8, μ = 16, σ = 2: Cp = 1, Cpk = 0.6667).

The textbooks give summary statistics, not raw data, for these examples; the tests that
need raw data build a sample with exactly those statistics (stated in each test).
"""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.quality.capability import capability, cp_interval, cpk_interval
from shopfloor.quality.control_charts import d2


def _sample(mean: float, sd: float, n: int, seed: int = 0) -> np.ndarray:
    """n values with exactly this sample mean and sample sd (ddof = 1)."""
    z = np.random.default_rng(seed).normal(size=n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


def test_cp_interval_montgomery_example_8_5() -> None:
    cp = (62 - 38) / (6 * 1.75)
    assert cp == pytest.approx(2.29, abs=5e-3)
    # The book applies the chi-square factors to the rounded Ĉp = 2.29; from the exact
    # 2.2857 the lower limit is 1.565, within rounding of the printed 1.57.
    ci = cp_interval(2.29, 20, 0.95)
    assert ci.lower == pytest.approx(1.57, abs=5e-3)
    assert ci.upper == pytest.approx(3.01, abs=5e-3)


def test_cpk_interval_montgomery_example_8_6() -> None:
    ci = cpk_interval(1.33, 20, 0.95)
    assert ci.estimate == 1.33
    assert ci.lower == pytest.approx(0.88, abs=5e-3)
    assert ci.upper == pytest.approx(1.78, abs=5e-3)


def test_capability_reproduces_example_8_5_from_a_matching_sample() -> None:
    # A sample of 20 with mean 50 (the spec midpoint) and s = 1.75 exactly.
    x = _sample(50.0, 1.75, 20)
    result = capability(x, lsl=38.0, usl=62.0)
    assert result.pp is not None
    assert result.pp.estimate == pytest.approx(2.29, abs=5e-3)
    # Unrounded Pp = 2.2857 (the book rounds to 2.29 before the interval): 1e-2.
    assert result.pp.lower == pytest.approx(1.57, abs=1e-2)
    assert result.pp.upper == pytest.approx(3.01, abs=1e-2)
    assert result.ppk.estimate == pytest.approx(result.pp.estimate)
    assert result.within_method == "mr"


def test_nist_6_1_6_example_overall_indices() -> None:
    # NIST: μ = 16, σ = 2, specs 8 to 20 -> Cp = 1, Cpk = min(4/6, 8/6) = 0.6667.  A
    # sample with that mean and sd gives the same Pp and Ppk.
    result = capability(_sample(16.0, 2.0, 50), lsl=8.0, usl=20.0)
    assert result.pp is not None
    assert result.pp.estimate == pytest.approx(1.0)
    assert result.ppk.estimate == pytest.approx(0.6667, abs=5e-5)
    assert result.ppu == pytest.approx(4 / 6)
    assert result.ppl == pytest.approx(8 / 6)


def test_piston_ring_cp_from_rbar_montgomery_section_8_4() -> None:
    # 25 subgroups of 5 built so that every range is 0.023 and the grand mean 74.001.
    base = np.array([-0.0115, -0.004, 0.0, 0.005, 0.0115])
    shifts = np.linspace(-0.003, 0.003, 25)
    data = 74.001 + shifts[:, None] + base[None, :] - base.mean()
    result = capability(data, lsl=73.95, usl=74.05)
    assert result.sigma_within == pytest.approx(0.023 / 2.326, abs=5e-5)
    assert result.sigma_within == pytest.approx(0.0099, abs=5e-5)
    assert result.cp is not None
    # The book divides by the rounded 6 * 0.0099; unrounded Cp is 1.6855.
    assert result.cp.estimate == pytest.approx(1.68, abs=1e-2)
    assert result.within_method == "rbar"


def test_within_from_sbar_hand_computation() -> None:
    # Hand computation: each subgroup [a-1, a, a+1] has s = 1; σ̂ = S̄ / c4(3) = 1.1284.
    data = np.array([[9.0, 10.0, 11.0], [10.0, 11.0, 12.0], [8.0, 9.0, 10.0]])
    result = capability(data, lsl=4.0, usl=16.0, within="sbar")
    assert result.sigma_within == pytest.approx(1 / 0.8862, abs=1e-3)
    rbar = capability(data, lsl=4.0, usl=16.0)
    assert rbar.sigma_within == pytest.approx(2 / d2(3))


def test_one_sided_specs() -> None:
    x = _sample(16.0, 2.0, 30)
    upper_only = capability(x, usl=20.0)
    assert upper_only.cp is None and upper_only.pp is None
    assert upper_only.cpl is None
    assert upper_only.ppk.estimate == pytest.approx(4 / 6)
    lower_only = capability(x, lsl=8.0)
    assert lower_only.ppk.estimate == pytest.approx(8 / 6)
    assert lower_only.ppu is None


def test_individuals_within_sigma_hand_computation() -> None:
    # Hand computation: MR = 1, 2, 1 -> MR̄ = 4/3, σ̂ = (4/3) / 1.128.
    result = capability([10.0, 11.0, 9.0, 10.0], lsl=5.0, usl=15.0)
    assert result.sigma_within == pytest.approx((4 / 3) / 1.128, abs=1e-3)
    assert result.cp is not None
    assert result.cp.estimate == pytest.approx(10 / (6 * result.sigma_within))


def test_cpk_interval_at_zero_is_finite() -> None:
    ci = cpk_interval(0.0, 25)
    assert ci.lower < 0 < ci.upper


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"values": [1.0, 2.0], "usl": 5.0}, "values"),
        ({"values": [1.0, np.nan, 2.0], "usl": 5.0}, "values"),
        ({"values": [1.0, np.inf, 2.0], "usl": 5.0}, "values"),
        ({"values": [[1.0], [2.0], [3.0]], "usl": 5.0}, "subgroup_size"),
        ({"values": [1.0, 2.0, 3.0]}, "usl"),
        ({"values": [1.0, 2.0, 3.0], "lsl": 5.0, "usl": 5.0}, "lsl"),
        ({"values": [1.0, 2.0, 3.0], "lsl": 6.0, "usl": 5.0}, "lsl"),
        ({"values": [1.0, 2.0, 3.0], "usl": np.nan}, "usl"),
        ({"values": [1.0, 2.0, 3.0], "usl": 5.0, "confidence": 1.0}, "confidence"),
        ({"values": [1.0, 2.0, 3.0], "usl": 5.0, "within": "sbar"}, "within"),
        ({"values": [[1.0, 2.0], [2.0, 3.0]], "usl": 5.0, "within": "mr"}, "within"),
        ({"values": [2.0, 2.0, 2.0], "usl": 5.0}, "values"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InputError) as err:
        capability(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_interval_bad_n() -> None:
    with pytest.raises(InputError) as err:
        cp_interval(1.0, 1)
    assert err.value.field == "n"
