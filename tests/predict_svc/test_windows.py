"""Cheapest windows over published and forecast periods (predict_svc.windows)."""

from __future__ import annotations

import numpy as np

from predict_svc.windows import cheapest_windows


def brute_force_best(prices: np.ndarray, length: int) -> int:
    means = [prices[s : s + length].mean() for s in range(len(prices) - length + 1)]
    return int(np.argmin(means))


def test_an_ev_needing_four_hours_gets_the_cheapest_run_of_consecutive_hours() -> None:
    # Hourly prices from 21:00: the cheapest single hour is 23:00, the cheapest 4-hour run 02:00-06:00.
    prices = np.array([60, 55, 10, 70, 40, 30, 20, 20, 25, 30, 80, 90], dtype=float)
    pub = np.ones(len(prices), dtype=bool)
    (best,) = cheapest_windows(prices, prices, prices, pub, 4, 1)
    assert best.start == 5 == brute_force_best(prices, 4)  # 21:00 + 5 h = 02:00
    assert best.mean == np.mean([30, 20, 20, 25]) and best.low == best.high == best.mean
    assert best.certain and best.published_share == 1.0


def test_windows_never_overlap_and_come_cheapest_first() -> None:
    rng = np.random.default_rng(7)
    prices = rng.uniform(10, 100, size=96)
    pub = np.ones(96, dtype=bool)
    found = cheapest_windows(prices, prices, prices, pub, 8, 5)
    assert len(found) == 5
    assert found[0].start == brute_force_best(prices, 8)
    assert [w.mean for w in found] == sorted(w.mean for w in found)
    covered = [set(range(w.start, w.start + w.length)) for w in found]
    assert all(not (a & b) for i, a in enumerate(covered) for b in covered[i + 1 :])


def test_published_windows_come_before_cheaper_forecast_ones() -> None:
    # Published: flat 50; forecast: median 20 (cheaper) but uncertain.
    p50 = np.array([50.0] * 8 + [20.0] * 8)
    p10 = np.array([50.0] * 8 + [5.0] * 8)
    p90 = np.array([50.0] * 8 + [60.0] * 8)
    pub = np.array([True] * 8 + [False] * 8)
    found = cheapest_windows(p10, p50, p90, pub, 4, 3)
    assert found[0].certain and found[0].start + found[0].length <= 8
    likely = [w for w in found if not w.certain]
    assert likely and all(w.published_share < 1 for w in likely)
    assert likely[0].low < likely[0].mean < likely[0].high


def test_forecast_windows_within_the_best_band_are_not_distinguishable() -> None:
    # Two forecast runs 0.1 apart inside a band of 2..9, and one clearly dearer.
    p50 = np.array([5.0, 5.0, 99.0, 5.1, 5.1, 99.0, 40.0, 40.0])
    p10 = p50 - np.array([3, 3, 1, 3, 3, 1, 1, 1])
    p90 = p50 + np.array([4, 4, 1, 4, 4, 1, 1, 1])
    pub = np.zeros(8, dtype=bool)
    found = cheapest_windows(p10, p50, p90, pub, 2, 3)
    assert [w.start for w in found] == [0, 3, 6]
    assert [w.distinguishable_from_best for w in found] == [True, False, True]


def test_nothing_fits_returns_no_window() -> None:
    prices = np.arange(3, dtype=float)
    assert cheapest_windows(prices, prices, prices, np.ones(3, dtype=bool), 4, 2) == []
