"""Forecast price distributions given as quantiles, and the probability that a price exceeds a
threshold: the one definition the API (GetPriceForecast, PredictHousehold) and the backtests use.

A forecast hour is a row of quantiles at ``levels`` (P10, P50, P90 and, from models that have
them, the upper levels P95, P99, P99.5 and P99.9 that express a spike probability of a few per
cent down to a tenth of one). Between two levels the CDF is linear. Outside the quantiles nothing is extrapolated: above the top
quantile the probability is reported as its bound ``1 - top level`` (status
:data:`ABOVE_TOP`: at most that), below the bottom one as ``1 - bottom level`` (:data:`BELOW_BOTTOM`:
at least that).

A tail calibration map (:class:`TailMap`, optional; a candidate of the issue #16 validation that
was not selected, so no model ships one and the API passes none) moves the CDF value ``u`` the
quantiles give to ``G(u)``, the share of held-out rows whose price had a CDF value of
at most ``u`` under the same quantiles and rule (probability-integral-transform recalibration): the
quantiles served are unchanged, only the probability read from them is corrected.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ABOVE_TOP",
    "BAND_LEVELS",
    "BELOW_BOTTOM",
    "UPPER_LEVELS",
    "WITHIN",
    "TailMap",
    "cdf_value",
    "exceed_probability",
    "fit_tail_map",
    "monotone",
]

BAND_LEVELS = (0.1, 0.5, 0.9)  # every forecast carries these
# The spike tail, where the model has it. P99.5 and P99.9 were selected on 2022 + 2023 (trained
# through the year before; NO1, NO2, NO5; BENCHMARKS.md "Spike-probability tail validated on
# 2022 + 2023") over P95/P99 alone, log-tail interpolation, a held-out recalibration map and a
# blend with the residual baseline.
UPPER_LEVELS = (0.95, 0.99, 0.995, 0.999)

WITHIN, ABOVE_TOP, BELOW_BOTTOM = 1, 2, 3


def monotone(quantiles: np.ndarray) -> np.ndarray:
    """Quantiles (rows x levels, levels ascending) made non-decreasing along each row by a running
    maximum (separately fitted quantiles can cross)."""
    q = np.asarray(quantiles, dtype=float)
    out: np.ndarray = np.maximum.accumulate(q, axis=1)
    return out


@dataclass(frozen=True)
class TailMap:
    """A non-decreasing piecewise-linear map ``u -> G(u)`` on knots ``u`` (ascending, the
    quantile levels and points between them); constant outside the knots."""

    u: tuple[float, ...]
    g: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.u) != len(self.g) or len(self.u) < 2:
            raise ValueError("a tail map needs as many values as knots, at least two")
        if np.any(np.diff(self.u) <= 0) or np.any(np.diff(self.g) < 0):
            raise ValueError("tail map knots must ascend and its values must not decrease")
        if min(self.g) < 0 or max(self.g) > 1:
            raise ValueError("tail map values must lie in [0, 1]")

    def __call__(self, u: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.interp(u, self.u, self.g)
        return out

    def to_doc(self) -> dict[str, list[float]]:
        return {"u": list(self.u), "g": list(self.g)}

    @classmethod
    def from_doc(cls, doc: dict[str, list[float]]) -> TailMap:
        return cls(tuple(float(v) for v in doc["u"]), tuple(float(v) for v in doc["g"]))


def _knots(levels: tuple[float, ...], between: int) -> np.ndarray:
    """The levels plus ``between`` evenly spaced points inside each interval at or above P50 (the
    tail, where the interpolation rule matters)."""
    lv = np.asarray(levels, dtype=float)
    pts = [lv]
    for lo, hi in itertools.pairwise(lv):
        if lo >= 0.5:
            pts.append(np.linspace(lo, hi, between + 2)[1:-1])
    out: np.ndarray = np.unique(np.concatenate(pts))
    return out


def fit_tail_map(
    quantiles: np.ndarray,
    actual: np.ndarray,
    levels: tuple[float, ...],
    interpolation: str = "linear",
    between: int = 4,
) -> TailMap:
    """The map of held-out rows (``quantiles`` rows x ``levels``, their prices ``actual``): at
    each knot ``u``, the share of rows whose CDF value (:func:`cdf_value`; above the top quantile:
    1) is at most ``u``. An empirical CDF, so non-decreasing (the isotonic fit of observed on
    nominal levels)."""
    ok = np.isfinite(actual) & np.all(np.isfinite(quantiles), axis=1)
    if ok.sum() < 1:
        raise ValueError("no held-out rows to fit a tail map on")
    u, status = cdf_value(actual[ok], quantiles[ok], levels, interpolation)
    pit = np.where(status == ABOVE_TOP, 1.0, np.where(status == BELOW_BOTTOM, 0.0, u))
    knots = _knots(levels, between)
    g = np.mean(pit[None, :] <= knots[:, None] + 1e-12, axis=1)
    return TailMap(tuple(float(v) for v in knots), tuple(float(v) for v in g))


def cdf_value(
    x: np.ndarray | float,
    quantiles: np.ndarray,
    levels: tuple[float, ...] = BAND_LEVELS,
    interpolation: str = "linear",
) -> tuple[np.ndarray, np.ndarray]:
    """The CDF value of ``x`` under each row's quantiles (clipped to the bottom / top level) and the
    status of :func:`exceed_probability`."""
    prob, status = exceed_probability(x, quantiles, levels, interpolation)
    return 1.0 - prob, status


def exceed_probability(
    threshold: np.ndarray | float,
    quantiles: np.ndarray,
    levels: tuple[float, ...] = BAND_LEVELS,
    interpolation: str = "linear",
    tail_map: TailMap | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """P(price > threshold) per row of ``quantiles`` (rows x ``levels``, vectorised; ``threshold``
    a scalar or one per row) and a status per row: :data:`WITHIN` (linear between levels),
    :data:`ABOVE_TOP` (the value is the upper bound ``1 - top level``) or :data:`BELOW_BOTTOM`
    (the lower bound ``1 - bottom level``). Equal quantiles: the highest level at that value.
    ``interpolation="log-tail"``: between two levels at or above P50 the exceedance probability is
    interpolated geometrically (log of ``1 - level`` linear in price, an exponential tail between
    the two quantiles, never beyond the top one); linear elsewhere. ``tail_map``: the CDF value
    (the bound too, above the top or below the bottom quantile) goes through that map first."""
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
    if tail_map is not None:
        cdf = tail_map(cdf)
    prob: np.ndarray = 1.0 - cdf
    return prob, status
