"""Cheapest windows: the runs of consecutive market periods with the lowest mean price, for a
load that needs a set time (an electric car's four hours of charging, a dishwasher's two).

Published prices first: windows made only of published periods are exact and come first
(certain); windows that reach into the forecast follow (likely). A forecast window carries a band,
the mean of the low and of the high quantile over its periods: the band of a sum of comonotonic
quantiles, i.e. the widest it can honestly be without a joint distribution (the model gives
marginal quantiles per period only). Two windows whose bands overlap cannot be told apart by the
forecast; the caller says so instead of presenting 0.1 c/kWh as a real difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from common import timestamps
from energypulse.prediction.v1 import forecast_pb2

__all__ = ["Window", "cheapest_windows", "window_message"]


@dataclass(frozen=True)
class Window:
    """One window: periods ``[start, start + length)`` of the searched arrays."""

    start: int
    length: int
    mean: float
    low: float
    high: float
    published_share: float
    distinguishable_from_best: bool

    @property
    def certain(self) -> bool:
        return self.published_share >= 1.0


def _rolling_mean(values: np.ndarray, length: int) -> np.ndarray:
    sums = np.convolve(np.asarray(values, dtype=float), np.ones(length), mode="valid")
    out: np.ndarray = sums / length
    return out


def _pick(means: np.ndarray, allowed: np.ndarray, taken: np.ndarray, length: int, count: int) -> list[int]:
    """Greedy: the cheapest allowed start whose window overlaps no taken period, ``count`` times
    (ties: the earlier start)."""
    starts: list[int] = []
    order = np.lexsort((np.arange(len(means)), means))
    for s in order:
        if len(starts) >= count:
            break
        if not allowed[s] or taken[s : s + length].any():
            continue
        starts.append(int(s))
        taken[s : s + length] = True
    return starts


def cheapest_windows(
    p10: np.ndarray, p50: np.ndarray, p90: np.ndarray, published: np.ndarray, length: int, count: int
) -> list[Window]:
    """Up to ``count`` non-overlapping windows of ``length`` periods: all-published ones cheapest
    first, then (if fewer than ``count``) ones reaching into the forecast, cheapest first.

    ``published`` marks exact periods (their three quantiles are equal). Within each certainty a
    window is distinguishable from the best when its band does not overlap the best one's.
    """
    n = len(p50)
    if length <= 0 or count <= 0 or n < length:
        return []
    pub = np.asarray(published, dtype=bool)
    means = _rolling_mean(p50, length)
    lows = _rolling_mean(np.where(pub, p50, p10), length)
    highs = _rolling_mean(np.where(pub, p50, p90), length)
    shares = _rolling_mean(pub.astype(float), length)
    certain = shares >= 1.0 - 1e-9
    taken = np.zeros(n, dtype=bool)
    chosen = _pick(means, certain, taken, length, count)
    chosen_likely = _pick(means, ~certain, taken, length, count - len(chosen))
    out: list[Window] = []
    for group in (chosen, chosen_likely):
        if not group:
            continue
        best = group[0]
        for s in group:
            separate = s == best or lows[s] > highs[best] or highs[s] < lows[best]
            if s != best and certain[s]:
                separate = bool(means[s] > means[best])  # exact prices: any difference is real
            out.append(
                Window(
                    start=s,
                    length=length,
                    mean=float(means[s]),
                    low=float(lows[s]),
                    high=float(highs[s]),
                    published_share=float(shares[s]),
                    distinguishable_from_best=bool(separate),
                )
            )
    return out


def window_message(window: Window, start_time: datetime, step: timedelta) -> forecast_pb2.CheapestWindow:
    """The wire form of ``window``, whose first period starts at ``start_time``."""
    return forecast_pb2.CheapestWindow(
        start_time=timestamps.from_datetime(start_time),
        end_time=timestamps.from_datetime(start_time + step * window.length),
        mean_price_eur_mwh=window.mean,
        low_price_eur_mwh=window.low,
        high_price_eur_mwh=window.high,
        certainty=forecast_pb2.CHEAPEST_CERTAINTY_CERTAIN
        if window.certain
        else forecast_pb2.CHEAPEST_CERTAINTY_LIKELY,
        distinguishable_from_best=window.distinguishable_from_best,
        published_share=window.published_share,
    )
