"""Control charts against textbook worked examples, hand computations and bad input.

Source of the worked examples (figures as printed, to the printed precision):
Montgomery, D. C., *Introduction to Statistical Quality Control*, 6th ed., Wiley (2009):

- Appendix Table VI, "Factors for constructing variables control charts" (d2, d3, c4,
  A2, A3, D3, D4, B3, B4);
- Example 7.1, orange-juice cans, p chart on 30 samples of n = 50 (phase I with samples
  15 and 23 removed);
- Example 7.3, printed-circuit boards, c chart on 26 samples (samples 6 and 20 removed);
- Example 7.4 (section 7.3.1), personal computers, u chart on 20 samples of n = 5;
- Example 9.1 (Table 9.2), tabular CUSUM, μ0 = 10, σ = 1, k = 0.5, h = 5 on 30 values;
- Example 9.2, EWMA on the same 30 values, λ = 0.1, L = 2.7.

The example data were typed from the book; the sums they imply (347 nonconforming cans,
516 nonconformities, 193 nonconformities) match the book's center lines.  Tests marked
"hand computation" have no textbook counterpart; their expected figures were worked out
by hand from the chart definitions.
"""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.quality import control_charts as cc

# Montgomery Example 7.1: nonconforming cans in 30 samples of 50.
CANS = [12, 15, 8, 10, 4, 7, 16, 9, 14, 10, 5, 6, 17, 12, 22,
        8, 10, 5, 13, 11, 20, 18, 24, 15, 9, 12, 7, 13, 9, 6]  # fmt: skip
# Montgomery Example 7.3: nonconformities on 26 samples of 100 boards.
BOARDS = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16,
          19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19, 17, 15]  # fmt: skip
# Montgomery Example 7.4: nonconformities in 20 samples of 5 computers.
COMPUTERS = [10, 12, 8, 14, 10, 16, 11, 7, 10, 15, 9, 5, 7, 11, 12, 6, 8, 10, 7, 5]
# Montgomery Example 9.1 / 9.2: the first 20 from N(10, 1), the last 10 from N(11, 1).
SHIFT = [9.45, 7.99, 9.29, 11.66, 12.16, 10.18, 8.04, 11.46, 9.20, 10.34,
         9.03, 11.47, 10.51, 9.40, 10.08, 9.37, 10.62, 10.31, 8.52, 10.84,
         10.90, 9.33, 12.29, 11.50, 10.60, 11.08, 10.38, 11.62, 11.31, 10.52]  # fmt: skip


@pytest.mark.parametrize(
    ("n", "table"),
    [
        # n: d2, d3, c4, A2, A3, D3, D4, B3, B4 (Montgomery, Appendix Table VI)
        (2, (1.128, 0.853, 0.7979, 1.880, 2.659, 0.0, 3.267, 0.0, 3.267)),
        (5, (2.326, 0.864, 0.9400, 0.577, 1.427, 0.0, 2.114, 0.0, 2.089)),
        (7, (2.704, 0.833, 0.9594, 0.419, 1.182, 0.076, 1.924, 0.118, 1.882)),
        (10, (3.078, 0.797, 0.9727, 0.308, 0.975, 0.223, 1.777, 0.284, 1.716)),
        (25, (3.931, 0.708, 0.9896, 0.153, 0.606, 0.459, 1.541, 0.565, 1.435)),
    ],
)
def test_factors_match_montgomery_table_vi(n: int, table: tuple[float, ...]) -> None:
    got = (
        cc.d2(n), cc.d3(n), cc.c4(n), cc.a2(n), cc.a3(n),
        cc.d3_factor(n), cc.d4_factor(n), cc.b3(n), cc.b4(n),
    )  # fmt: skip
    # The table rounds its inputs (D4 = 1 + 3 d3 / d2 from 3-decimal d3 and d2): 1e-3.
    np.testing.assert_allclose(got, table, atol=1.0e-3)


def test_p_chart_montgomery_example_7_1_phase_one() -> None:
    trial = cc.p_chart(CANS, 50)
    assert trial.center == pytest.approx(0.2313, abs=5e-5)
    assert trial.upper[0] == pytest.approx(0.4102, abs=5e-5)
    assert trial.lower[0] == pytest.approx(0.0524, abs=5e-5)
    assert trial.violations.tolist() == [14, 22]  # samples 15 and 23
    revised = cc.p_chart(CANS, 50, remove_out_of_control=True, max_iterations=1)
    assert revised.excluded.tolist() == [14, 22]
    assert revised.center == pytest.approx(0.2150, abs=5e-5)
    assert revised.upper[0] == pytest.approx(0.3893, abs=5e-5)
    assert revised.lower[0] == pytest.approx(0.0407, abs=5e-5)
    # Against the revised limits sample 21 (0.40) is also above the UCL, as the book notes.
    assert 20 in revised.violations.tolist()


def test_p_chart_phase_two_uses_fixed_p() -> None:
    chart = cc.p_chart([5, 30], 50, p=0.2150)
    assert chart.center == 0.2150
    assert chart.violations.tolist() == [1]
    assert chart.excluded.size == 0


def test_np_chart_is_the_p_chart_times_n() -> None:
    np_ = cc.np_chart(CANS, 50)
    assert np_.center == pytest.approx(50 * 0.23133, abs=1e-3)
    assert np_.upper[0] == pytest.approx(50 * 0.4102, abs=5e-3)
    assert np_.violations.tolist() == [14, 22]


def test_p_chart_variable_sample_sizes_hand_computation() -> None:
    # Hand computation: p̄ = 30 / 300 = 0.1; n = 100: 0.1 ± 3 sqrt(0.0009) = 0.1 ± 0.09;
    # n = 25: 0.1 ± 3 * 0.06 = [0 (clipped), 0.28].
    chart = cc.p_chart([10, 8, 12], [100, 25, 175])
    assert chart.center == pytest.approx(0.1)
    assert chart.upper[0] == pytest.approx(0.19)
    assert chart.upper[1] == pytest.approx(0.28)
    assert chart.lower[1] == 0.0
    assert chart.violations.tolist() == [1]  # 8 / 25 = 0.32 > 0.28


def test_c_chart_montgomery_example_7_3() -> None:
    trial = cc.c_chart(BOARDS)
    assert trial.center == pytest.approx(19.85, abs=5e-3)
    # The book adds 3 sqrt(c̄) to the rounded c̄ = 19.85; unrounded (516 / 26) it is 33.211.
    assert trial.upper[0] == pytest.approx(33.22, abs=1e-2)
    assert trial.lower[0] == pytest.approx(6.48, abs=5e-3)
    assert trial.violations.tolist() == [5, 19]  # samples 6 and 20
    revised = cc.c_chart(BOARDS, remove_out_of_control=True)
    assert revised.center == pytest.approx(19.67, abs=5e-3)
    assert revised.upper[0] == pytest.approx(32.97, abs=5e-3)
    assert revised.lower[0] == pytest.approx(6.36, abs=5e-3)
    assert revised.excluded.tolist() == [5, 19]


def test_u_chart_montgomery_example_7_4() -> None:
    chart = cc.u_chart(COMPUTERS, 5)
    assert chart.center == pytest.approx(1.93)
    assert chart.upper[0] == pytest.approx(3.79, abs=5e-3)
    assert chart.lower[0] == pytest.approx(0.07, abs=5e-3)
    assert chart.violations.size == 0


def test_u_chart_variable_units_hand_computation() -> None:
    # Hand computation: ū = 12 / 6 = 2; n = 4: 2 ± 3 sqrt(0.5); n = 1: 2 ± 3 sqrt(2) -> 0.
    chart = cc.u_chart([9, 3, 0], [4, 1, 1])
    assert chart.center == pytest.approx(2.0)
    assert chart.upper.tolist() == pytest.approx([2 + 3 * 0.5**0.5, 2 + 3 * 2**0.5, 2 + 3 * 2**0.5])
    assert chart.lower.tolist() == [0.0, 0.0, 0.0]


def test_cusum_montgomery_example_9_1() -> None:
    chart = cc.cusum_chart(SHIFT, target=10.0, sigma=1.0, k=0.5, h=5.0)
    # Table 9.2, C+_i for periods 1-8 and 23-30.
    assert chart.upper[:8] == pytest.approx([0, 0, 0, 1.16, 2.82, 2.50, 0.04, 1.00], abs=5e-3)
    expected = [1.79, 2.79, 2.89, 3.47, 3.35, 4.47, 5.28, 5.30]
    assert chart.upper[22:] == pytest.approx(expected, abs=5e-3)
    assert chart.decision_interval == 5.0
    assert chart.violations.tolist() == [28, 29]  # first signal at period 29
    assert chart.lower.max() < 5.0


def test_ewma_montgomery_example_9_2() -> None:
    chart = cc.ewma_chart(SHIFT, lam=0.1, width=2.7, target=10.0, sigma=1.0)
    assert chart.statistic[:2] == pytest.approx([9.945, 9.7495], abs=5e-5)
    assert chart.upper[:2] == pytest.approx([10.27, 10.36], abs=5e-3)
    assert chart.lower[:2] == pytest.approx([9.73, 9.64], abs=5e-3)
    # Hand computation: the asymptotic limit is 10 + 2.7 sqrt(0.1 / 1.9) = 10.6194; the
    # EWMA reaches 10.647 at period 29, the first point beyond it.
    assert chart.upper[-1] == pytest.approx(10.6194, abs=1e-3)
    assert chart.violations.tolist() == [28, 29]
    flat = cc.ewma_chart(SHIFT, lam=0.1, width=2.7, target=10.0, sigma=1.0, asymptotic=True)
    assert np.all(flat.upper == flat.upper[-1])


def test_ewma_lambda_one_is_a_shewhart_chart() -> None:
    chart = cc.ewma_chart([1.0, 2.0, 5.0], lam=1.0, target=0.0, sigma=1.0)
    assert chart.statistic.tolist() == [1.0, 2.0, 5.0]
    assert chart.upper.tolist() == pytest.approx([3.0, 3.0, 3.0])
    assert chart.violations.tolist() == [2]


# Hand computation: subgroups of 3 with means 2, 5, 3 (x̿ = 10/3) and ranges 2, 2, 2.
SUBGROUPS = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [2.0, 3.0, 4.0]]


def test_xbar_r_hand_computation() -> None:
    chart = cc.xbar_r_chart(SUBGROUPS)
    assert chart.location.center == pytest.approx(10 / 3)
    # A2(3) = 1.023, D4(3) = 2.574 (Table VI): x̿ ± 1.023 * 2, R̄ D4 = 5.148.
    assert chart.location.upper[0] == pytest.approx(10 / 3 + 1.023 * 2, abs=2e-3)
    assert chart.location.lower[0] == pytest.approx(10 / 3 - 1.023 * 2, abs=2e-3)
    assert chart.spread.center == pytest.approx(2.0)
    assert chart.spread.upper[0] == pytest.approx(5.148, abs=2e-3)
    assert chart.spread.lower[0] == 0.0
    assert chart.sigma == pytest.approx(2 / 1.693, abs=1e-3)
    assert chart.location.violations.size == 0


def test_xbar_s_hand_computation() -> None:
    chart = cc.xbar_s_chart(SUBGROUPS)
    # Every subgroup has s = 1: S̄ = 1, A3(3) = 1.954, B4(3) = 2.568 (Table VI).
    assert chart.spread.center == pytest.approx(1.0)
    assert chart.location.upper[0] == pytest.approx(10 / 3 + 1.954, abs=2e-3)
    assert chart.spread.upper[0] == pytest.approx(2.568, abs=2e-3)
    assert chart.sigma == pytest.approx(1 / 0.8862, abs=1e-3)


def test_xbar_r_phase_one_removal_and_phase_two() -> None:
    rng = np.random.default_rng(7)
    data = rng.normal(10.0, 1.0, size=(25, 5))
    data[3] += 6.0  # an assignable cause in subgroup 4
    trial = cc.xbar_r_chart(data)
    assert 3 in trial.location.violations.tolist()
    cleaned = cc.xbar_r_chart(data, remove_out_of_control=True)
    assert 3 in cleaned.excluded.tolist()
    assert cleaned.mean == pytest.approx(np.delete(data, 3, axis=0).mean())
    assert trial.mean > cleaned.mean
    # Phase II: the cleaned estimate charts new data with fixed limits.
    new = rng.normal(10.0, 1.0, size=(5, 5))
    new[2] += 5.0
    monitored = cc.xbar_r_chart(new, mean=cleaned.mean, sigma=cleaned.sigma)
    assert monitored.location.center == cleaned.mean
    assert monitored.location.upper[0] == pytest.approx(cleaned.location.upper[0])
    assert monitored.location.violations.tolist() == [2]
    assert monitored.excluded.size == 0


def test_individuals_hand_computation() -> None:
    # Hand computation: x = 10, 12, 11, 13, 30; MR = 2, 1, 2, 17; MR̄ = 5.5.
    chart = cc.individuals_chart([10.0, 12.0, 11.0, 13.0, 30.0])
    assert chart.sigma == pytest.approx(5.5 / 1.128, abs=2e-3)
    assert chart.location.center == pytest.approx(15.2)
    assert chart.spread.upper[0] == pytest.approx(3.267 * 5.5, abs=5e-3)
    assert chart.spread.statistic.tolist() == [2.0, 1.0, 2.0, 17.0]


def test_individuals_phase_one_drops_the_outlier_and_its_ranges() -> None:
    x = [10.0, 11.0, 10.5, 9.8, 10.2, 10.9, 10.1, 30.0, 10.4, 9.9, 10.6, 10.0]
    chart = cc.individuals_chart(x, remove_out_of_control=True)
    assert chart.excluded.tolist() == [7]
    kept = [v for i, v in enumerate(x) if i != 7]
    assert chart.mean == pytest.approx(np.mean(kept))
    ranges = [abs(x[i + 1] - x[i]) for i in range(len(x) - 1) if i not in (6, 7)]
    assert chart.sigma == pytest.approx(np.mean(ranges) / cc.d2(2))
    assert 7 in chart.location.violations.tolist()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: cc.xbar_r_chart([[1.0], [2.0]]), "subgroup_size"),
        (lambda: cc.xbar_r_chart(np.ones((3, 26))), "subgroup_size"),
        (lambda: cc.xbar_r_chart([[1.0, 2.0]]), "subgroups"),
        (lambda: cc.xbar_s_chart([[1.0, np.nan], [2.0, 3.0]]), "subgroups"),
        (lambda: cc.xbar_r_chart([[1.0, 2.0], [2.0, 3.0]], mean=1.0), "sigma"),
        (lambda: cc.xbar_r_chart([[1.0, 2.0], [2.0, 3.0]], mean=1.0, sigma=0.0), "sigma"),
        (lambda: cc.individuals_chart([1.0, 2.0]), "values"),
        (lambda: cc.individuals_chart([1.0, np.inf, 2.0]), "values"),
        (lambda: cc.individuals_chart([1.0, 2.0, 3.0], max_iterations=0), "max_iterations"),
        (lambda: cc.p_chart([1, 2], [10, 0]), "sample_sizes"),
        (lambda: cc.p_chart([1, 20], 10), "counts"),
        (lambda: cc.p_chart([1, -1], 10), "defectives"),
        (lambda: cc.p_chart([1, 2], 10, p=1.5), "p"),
        (lambda: cc.p_chart([0, 0], 10), "counts"),
        (lambda: cc.c_chart([3]), "nonconformities"),
        (lambda: cc.c_chart([3, 4], c=-1.0), "c"),
        (lambda: cc.u_chart([3, 4], [1.0, np.nan]), "sample_sizes"),
        (lambda: cc.ewma_chart([1.0, 2.0, 3.0], lam=0.0), "lam"),
        (lambda: cc.ewma_chart([1.0, 2.0, 3.0], lam=1.5), "lam"),
        (lambda: cc.ewma_chart([1.0, 2.0, 3.0], width=-1.0), "width"),
        (lambda: cc.ewma_chart([1.0, 1.0, 1.0]), "sigma"),
        (lambda: cc.ewma_chart([1.0]), "values"),
        (lambda: cc.cusum_chart([1.0, 2.0], k=-0.5), "k"),
        (lambda: cc.cusum_chart([1.0, 2.0], h=0.0), "h"),
        (lambda: cc.cusum_chart([1.0, np.nan], target=0.0, sigma=1.0), "values"),
    ],
)
def test_bad_input_names_the_field(call: object, field: str) -> None:
    with pytest.raises(InputError) as err:
        call()  # type: ignore[operator]
    assert err.value.field == field
