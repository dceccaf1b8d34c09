"""P(price > threshold) from forecast quantiles: the one definition the API and the backtests use."""

from __future__ import annotations

import numpy as np
import pytest

from predict_svc.quantiles import ABOVE_TOP, BELOW_BOTTOM, UPPER_LEVELS, WITHIN, exceed_probability, monotone

ROW = np.array([[10.0, 20.0, 40.0]])
FIVE = np.array([[10.0, 20.0, 40.0, 60.0, 100.0]])
LEVELS5 = (0.1, 0.5, 0.9, *UPPER_LEVELS)


def test_linear_between_the_quantiles() -> None:
    for x, want in ((10.0, 0.9), (20.0, 0.5), (40.0, 0.1), (15.0, 0.7), (30.0, 0.3)):
        prob, status = exceed_probability(x, ROW)
        assert prob[0] == pytest.approx(want) and status[0] == WITHIN


def test_nothing_is_extrapolated_beyond_the_quantiles() -> None:
    prob, status = exceed_probability(0.0, ROW)
    assert status[0] == BELOW_BOTTOM and prob[0] == pytest.approx(0.9)  # at least 90%
    prob, status = exceed_probability(100.0, ROW)
    assert status[0] == ABOVE_TOP and prob[0] == pytest.approx(0.1)  # at most 10%, no tail guessed


def test_upper_levels_express_a_small_spike_probability() -> None:
    """With P95 and P99 a threshold above P90 gets 5%..1% instead of the P90 bound of 10%."""
    prob, status = exceed_probability(
        np.array([50.0, 60.0, 80.0, 100.0, 150.0]), np.repeat(FIVE, 5, 0), LEVELS5
    )
    np.testing.assert_allclose(prob, [0.075, 0.05, 0.03, 0.01, 0.01])
    assert status.tolist() == [WITHIN] * 4 + [ABOVE_TOP]


def test_vectorised_monotone_and_ties() -> None:
    grid = np.linspace(0, 120, 61)
    prob, _ = exceed_probability(grid, np.repeat(FIVE, len(grid), 0), LEVELS5)
    assert (np.diff(prob) <= 1e-12).all()  # never rises with the threshold
    prob, _ = exceed_probability(20.0, np.array([[10.0, 20.0, 20.0]]))
    assert prob[0] == pytest.approx(0.1)  # equal quantiles: the highest level at that value
    with pytest.raises(ValueError, match="levels"):
        exceed_probability(1.0, FIVE)


def test_monotone_removes_crossings() -> None:
    np.testing.assert_array_equal(monotone(np.array([[1.0, 3.0, 2.0, 5.0, 4.0]])), [[1, 3, 3, 5, 5]])


def test_log_tail_interpolates_the_exceedance_geometrically_between_levels() -> None:
    """Between P90 and P99 the exceedance falls from 10% to 1% by a constant factor per EUR
    (midway: sqrt(0.1 x 0.01) = 3.16%, not the linear 5.5%); below P50 it stays linear and above
    the top level it is still only the bound."""
    row = np.array([[10.0, 20.0, 40.0, 100.0]])
    levels = (0.1, 0.5, 0.9, 0.99)
    x = np.array([70.0, 40.0, 100.0, 15.0, 30.0, 200.0])
    prob, status = exceed_probability(x, np.repeat(row, len(x), 0), levels, "log-tail")
    np.testing.assert_allclose(prob, [np.sqrt(0.1 * 0.01), 0.1, 0.01, 0.7, np.sqrt(0.5 * 0.1), 0.01])
    assert status[-1] == ABOVE_TOP
    linear, _ = exceed_probability(70.0, row, levels)
    assert linear[0] == pytest.approx(0.055)
    with pytest.raises(ValueError, match="interpolation"):
        exceed_probability(1.0, row, levels, "cubic")
