"""P(price > threshold) from forecast quantiles: the one definition the API and the backtests use."""

from __future__ import annotations

import numpy as np
import pytest

from predict_svc.quantiles import (
    ABOVE_TOP,
    BELOW_BOTTOM,
    UPPER_LEVELS,
    WITHIN,
    TailMap,
    exceed_probability,
    fit_tail_map,
    monotone,
)

ROW = np.array([[10.0, 20.0, 40.0]])
FIVE = np.array([[10.0, 20.0, 40.0, 60.0, 100.0]])
LEVELS5 = (0.1, 0.5, 0.9, 0.95, 0.99)


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


def test_served_tail_reaches_a_tenth_of_a_per_cent() -> None:
    """The served levels (P99.5, P99.9 above P95/P99): a threshold between P99.5 and P99.9 gets
    0.5%..0.1%, one above them the bound 0.1% instead of the P99 bound of 1%."""
    levels = (0.1, 0.5, 0.9, *UPPER_LEVELS)
    assert levels[-2:] == (0.995, 0.999)
    row = np.array([[10.0, 20.0, 40.0, 60.0, 100.0, 120.0, 200.0]])
    prob, status = exceed_probability(np.array([160.0, 300.0]), np.repeat(row, 2, 0), levels)
    np.testing.assert_allclose(prob, [0.003, 0.001])
    assert status.tolist() == [WITHIN, ABOVE_TOP]


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


def test_tail_map_from_held_out_rows_corrects_a_too_heavy_linear_tail() -> None:
    """Held-out prices drawn from an exponential tail above P90 (the true CDF is concave there) with
    exact P90/P95/P99 quantiles: the linear rule over-states the exceedance between P90 and P99;
    the map fitted on those rows brings it to the true one, keeps the levels' own values and is
    the identity where the rule is already right."""
    rng = np.random.default_rng(3)
    levels = (0.1, 0.5, 0.9, 0.95, 0.99)
    scale = 10.0  # P(y > 40 + t) = 0.1 exp(-t / scale) above P90 = 40
    quant = [10.0, 20.0, 40.0, 40 + scale * np.log(2), 40 + scale * np.log(10)]
    n = 200_000
    u = rng.uniform(size=n)
    body = np.interp(u, [0.0, *levels[:3]], [0.0, *quant[:3]])
    y = np.where(u < 0.9, body, 40 - scale * np.log((1 - u) / 0.1))
    rows = np.repeat(np.array([quant]), n, 0)
    tail = fit_tail_map(rows, y, levels)
    for lv, q in zip(levels[2:], quant[2:], strict=True):
        p, _ = exceed_probability(q, rows[:1], levels, tail_map=tail)
        assert p[0] == pytest.approx(1 - lv, abs=0.002)  # the levels stay where they are
    x = 40 + scale * np.log(10) / 2  # halfway between P90 and P99 in log-exceedance
    raw, _ = exceed_probability(x, rows[:1], levels)
    fixed, _ = exceed_probability(x, rows[:1], levels, tail_map=tail)
    truth = 0.1 * np.exp(-(x - 40) / scale)
    assert raw[0] > truth + 0.005  # the linear rule is too heavy here ...
    assert fixed[0] == pytest.approx(truth, abs=0.003)  # ... the mapped one is not
    above, status = exceed_probability(200.0, rows[:1], levels, tail_map=tail)
    assert status[0] == ABOVE_TOP and above[0] == pytest.approx(0.01, abs=0.002)  # the held-out bound
    p_lo, _ = exceed_probability(15.0, rows[:1], levels, tail_map=tail)
    assert p_lo[0] == pytest.approx(0.7, abs=0.005)  # the body, linear and right, is unchanged


def test_tail_map_round_trips_and_rejects_a_decreasing_map() -> None:
    tail = TailMap((0.1, 0.5, 0.9, 0.99), (0.1, 0.55, 0.92, 0.99))
    assert TailMap.from_doc(tail.to_doc()) == tail
    np.testing.assert_allclose(tail(np.array([0.05, 0.7, 0.995])), [0.1, 0.735, 0.99])
    with pytest.raises(ValueError, match="must not decrease"):
        TailMap((0.1, 0.5), (0.6, 0.5))
