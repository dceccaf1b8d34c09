"""Forecast price distributions given as quantiles, and the probability that a price exceeds a
threshold: the one definition the API (GetPriceForecast, PredictHousehold) and the backtests use.

A forecast hour is a row of quantiles at ``levels`` (P10, P50, P90 and, from models that have
them, the upper levels P95 and P99 that express a spike probability of a few per cent). Between
two levels the CDF is linear. Outside the quantiles nothing is extrapolated: above the top
quantile the probability is reported as its bound ``1 - top level`` (status
:data:`ABOVE_TOP`: at most that), below the bottom one as ``1 - bottom level`` (:data:`BELOW_BOTTOM`:
at least that).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ABOVE_TOP",
    "BAND_LEVELS",
    "BELOW_BOTTOM",
    "UPPER_LEVELS",
    "WITHIN",
    "exceed_probability",
    "monotone",
]

BAND_LEVELS = (0.1, 0.5, 0.9)  # every forecast carries these
UPPER_LEVELS = (0.95, 0.99)  # the spike tail, where the model has it

WITHIN, ABOVE_TOP, BELOW_BOTTOM = 1, 2, 3


def monotone(quantiles: np.ndarray) -> np.ndarray:
    """Quantiles (rows x levels, levels ascending) made non-decreasing along each row by a running
    maximum (separately fitted quantiles can cross)."""
    q = np.asarray(quantiles, dtype=float)
    out: np.ndarray = np.maximum.accumulate(q, axis=1)
    return out


def exceed_probability(
    threshold: np.ndarray | float,
    quantiles: np.ndarray,
    levels: tuple[float, ...] = BAND_LEVELS,
    interpolation: str = "linear",
) -> tuple[np.ndarray, np.ndarray]:
    """P(price > threshold) per row of ``quantiles`` (rows x ``levels``, vectorised; ``threshold``
    a scalar or one per row) and a status per row: :data:`WITHIN` (linear between levels),
    :data:`ABOVE_TOP` (the value is the upper bound ``1 - top level``) or :data:`BELOW_BOTTOM`
    (the lower bound ``1 - bottom level``). Equal quantiles: the highest level at that value.
    ``interpolation="log-tail"``: between two levels at or above P50 the exceedance probability is
    interpolated geometrically (log of ``1 - level`` linear in price, an exponential tail between
    the two quantiles, never beyond the top one); linear elsewhere."""
    if interpolation not in ("linear", "log-tail"):
        raise ValueError(f"unknown interpolation {interpolation!r}")
    q = np.sort(np.atleast_2d(np.asarray(quantiles, dtype=float)), axis=1)
    lv = np.asarray(levels, dtype=float)
    if q.shape[1] != len(lv):
        raise ValueError(f"{q.shape[1]} quantiles per row for {len(lv)} levels")
    x = np.broadcast_to(np.asarray(threshold, dtype=float), (len(q),))
    # Index of the last quantile <= x (-1 when x is below all of them).
    right = (q <= x[:, None]).sum(axis=1) - 1
    left = np.clip(right, 0, len(lv) - 2)
    a = np.take_along_axis(q, left[:, None], axis=1)[:, 0]
    b = np.take_along_axis(q, left[:, None] + 1, axis=1)[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(b > a, (x - a) / np.where(b > a, b - a, 1.0), 1.0)
    w = np.clip(w, 0.0, 1.0)
    cdf = lv[left] + w * (lv[left + 1] - lv[left])
    if interpolation == "log-tail":
        s_a, s_b = 1.0 - lv[left], 1.0 - lv[left + 1]
        tail = lv[left] >= 0.5
        cdf = np.where(tail, 1.0 - s_a * (s_b / s_a) ** w, cdf)
    status = np.full(len(q), WITHIN, dtype=np.int64)
    above = x > q[:, -1]
    below = x < q[:, 0]
    cdf = np.where(above | (right >= len(lv) - 1), lv[-1], cdf)
    cdf = np.where(below, lv[0], cdf)
    status[above] = ABOVE_TOP
    status[below] = BELOW_BOTTOM
    prob: np.ndarray = 1.0 - cdf
    return prob, status
