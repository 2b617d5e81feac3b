"""Western Electric and Nelson run rules on hand-built sequences.

No textbook prints a sequence with every rule's firing points, so these tests are hand
computations: each sequence is built in units of sigma (center 0, sigma 1, unless a
test says otherwise) to complete one pattern at a known index, following the rule
definitions of the Western Electric *Statistical Quality Control Handbook* (1956) and
Nelson, L. S. (1984), "The Shewhart control chart - tests for special causes", *Journal
of Quality Technology* 16(4), 237-239.  The expected indices follow the module's
convention: a rule fires at the point that completes its pattern, and again at every
further point that extends it.
"""

from __future__ import annotations

import numpy as np
import pytest

from shopfloor.errors import InputError
from shopfloor.quality.rules import nelson, western_electric

# A quiet baseline: alternating small values never complete a pattern of length >= 3
# on one side, never trend, and stay within 1 sigma (but see Nelson 4 and 7).
QUIET = [0.5, -0.5, 0.3, -0.3, 0.2]


def _fired(report: object, rule: int) -> list[int]:
    return report.indices(rule).tolist()  # type: ignore[attr-defined]


def test_rule_one_point_beyond_three_sigma() -> None:
    x = [0.1, 3.5, -0.2, -3.1, 3.0]  # exactly 3.0 is on the limit, not beyond it
    assert _fired(western_electric(x, 0.0, 1.0), 1) == [1, 3]
    assert _fired(nelson(x, 0.0, 1.0), 1) == [1, 3]


def test_two_of_three_beyond_two_sigma_fires_on_the_completing_point() -> None:
    x = [0.0, 2.5, 0.1, 2.2, 0.0, -2.1, -2.4]
    # Window (1, 2, 3): 2.5 and 2.2 beyond +2 sigma -> fires at 3.  Window (4, 5, 6):
    # -2.1, -2.4 -> fires at 6.  Point 5 (-2.1) with 3 (2.2) is opposite sides: no fire.
    assert _fired(western_electric(x, 0.0, 1.0), 2) == [3, 6]
    assert _fired(nelson(x, 0.0, 1.0), 5) == [3, 6]


def test_four_of_five_beyond_one_sigma() -> None:
    x = [1.5, 1.2, 0.0, 1.1, 1.3, 0.2, -1.5]
    # Window (0..4): 1.5, 1.2, 1.1, 1.3 beyond +1 -> fires at 4; window (1..5) also has
    # four, but point 5 is not one of them, so no fire there.
    assert _fired(western_electric(x, 0.0, 1.0), 3) == [4]
    assert _fired(nelson(x, 0.0, 1.0), 6) == [4]


def test_runs_on_one_side() -> None:
    x = [0.2] * 10 + [0.0] + [-0.1] * 8
    # 10 above: WE4 (8 in a row) fires at 7, 8, 9; Nelson 2 (9 in a row) at 8, 9.  The
    # point on the center line breaks the run; 8 below fire WE4 at 18 only.
    assert _fired(western_electric(x, 0.0, 1.0), 4) == [7, 8, 9, 18]
    assert _fired(nelson(x, 0.0, 1.0), 2) == [8, 9]


def test_nelson_three_trend_of_six() -> None:
    x = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.4, 0.3, 0.3, 0.2, 0.1, 0.0, -0.1, -0.2]
    # 0..5 rise: six points at index 5.  Then 0.4, 0.3 fall and 0.3 ties (breaks);
    # 0.3 (index 8) down to -0.2 (index 13): six points falling complete at 13.
    assert _fired(nelson(x, 0.0, 1.0), 3) == [5, 13]


def test_nelson_four_fourteen_alternating() -> None:
    x = [0.5 * (-1) ** i for i in range(15)]
    assert _fired(nelson(x, 0.0, 1.0), 4) == [13, 14]
    broken = [*x[:7], x[6], *x[7:]]  # a repeated value ends the alternation
    assert _fired(nelson(broken, 0.0, 1.0), 4) == []


def test_nelson_seven_fifteen_within_one_sigma() -> None:
    x = [0.5, -0.5] * 8  # 16 points within 1 sigma
    assert _fired(nelson(x, 0.0, 1.0), 7) == [14, 15]


def test_nelson_eight_beyond_one_sigma_either_side() -> None:
    x = [1.5, -1.5] * 4 + [0.0]
    assert _fired(nelson(x, 0.0, 1.0), 8) == [7]


def test_quiet_sequence_fires_nothing() -> None:
    for report in (western_electric(QUIET, 0.0, 1.0), nelson(QUIET, 0.0, 1.0)):
        assert report.flagged.size == 0
        assert all(hit.indices.size == 0 for hit in report.hits)


def test_per_point_center_and_sigma() -> None:
    # A p chart with varying n: the same proportion is 3.2 sigma out at n large only.
    x = np.array([0.16, 0.16])
    sigma = np.array([0.05, 0.01])
    assert western_electric(x, 0.1, sigma).indices(1).tolist() == [1]


def test_flagged_is_the_union() -> None:
    x = [0.2] * 8 + [4.0]
    report = western_electric(x, 0.0, 1.0)
    assert report.flagged.tolist() == [7, 8]
    assert [hit.rule for hit in report.hits] == [1, 2, 3, 4]
    assert [hit.rule for hit in nelson(x, 0.0, 1.0).hits] == list(range(1, 9))


def test_short_sequences_fire_nothing() -> None:
    assert nelson([0.5], 0.0, 1.0).flagged.size == 0
    assert western_electric([5.0], 0.0, 1.0).indices(1).tolist() == [0]


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (([], 0.0, 1.0), "statistic"),
        (([1.0, np.nan], 0.0, 1.0), "statistic"),
        (([1.0, 2.0], 0.0, 0.0), "sigma"),
        (([1.0, 2.0], 0.0, [1.0, 1.0, 1.0]), "sigma"),
        (([1.0, 2.0], np.inf, 1.0), "center"),
    ],
)
def test_bad_input_names_the_field(args: tuple[object, object, object], field: str) -> None:
    with pytest.raises(InputError) as err:
        nelson(*args)  # type: ignore[arg-type]
    assert err.value.field == field


def test_unknown_rule_number() -> None:
    with pytest.raises(InputError) as err:
        western_electric([0.0], 0.0, 1.0).indices(5)
    assert err.value.field == "rule"
