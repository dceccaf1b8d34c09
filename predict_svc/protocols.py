"""Day-ahead and week-ahead forecasting protocols: the daily panel, the issue clock, baselines, scores.

The day-ahead protocol of day-ahead price forecasting research (Lago, Marcjasz, De Schutter, Weron,
Applied Energy 2021; epftoolbox): for every delivery day ``D`` forecast all hours of ``D`` with what
is known at the issue time, 10:00 CET on ``D-1``. Week-ahead: the same issue also forecasts
``D+1 .. D+6``.

Days: a :class:`DayPanel` cuts the hourly UTC series into days of 24 hours in *fixed* UTC+01:00
(CET, the market's standard time), as the reference LEAR run did and as epftoolbox's datasets are:
every day has 24 hours, so a day is one row of a ``(days, 24)`` matrix and the 23- and 25-hour DST
days of the local calendar do not break the lags. In summer the rows are therefore shifted one
hour against the CEST delivery day (hour 0 of a row is 01:00 CEST). Isolated missing hours (the
files miss a few around DST switches) take the value of the hour before (at most
:data:`MAX_GAP` hours; a causal fill, so no value leaks backwards over the issue time); a day with
a longer gap keeps its NaNs and is neither trained on nor scored.

What is known at 10:00 CET on ``D-1`` (:data:`ISSUE_HOUR_CET`):

* prices of every day up to and including ``D-1`` (``D-1``'s prices were published on ``D-2``);
* the day-ahead load forecast for ``D`` (ENTSO-E requires it two hours before gate closure) and
  the wind and solar forecasts for ``D`` (only guaranteed by 18:00 on ``D-1``: used, as the
  literature does; ``use_res_forecast=False`` runs without them);
* exogenous forecasts for days after ``D`` are not known: week-ahead rows use the latest known
  day (``D``) in their place, see :mod:`predict_svc.fundamentals` for the daily fundamentals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from predict_svc.hourly import FrameLike, HourlyFrame

__all__ = [
    "HOURS",
    "ISSUE_HOUR_CET",
    "MAX_GAP",
    "DayPanel",
    "climatology_week_ahead",
    "naive_day_ahead",
    "naive_week_ahead",
    "pinball",
    "score_block",
    "smape",
]

HOURS = 24
ISSUE_HOUR_CET = 10
MAX_GAP = 3  # hours interpolated inside a series
_CET = np.timedelta64(1, "h")  # fixed UTC+01:00


def _fill_gaps(values: np.ndarray, limit: int = MAX_GAP) -> np.ndarray:
    """Runs of at most ``limit`` missing hours take the last value before them (a causal fill:
    the value after a gap may not be known yet at an issue time inside it)."""
    out = np.asarray(values, dtype=float).copy()
    bad = ~np.isfinite(out)
    if not bad.any() or bad.all():
        return out
    edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if b - a <= limit and a > 0:
            out[a:b] = out[a - 1]
    return out


@dataclass(frozen=True)
class DayPanel:
    """Hourly series as ``(days, 24)`` matrices of fixed UTC+01:00 days.

    ``res`` is the wind + solar forecast (onshore + offshore + solar; NaN only where all three are
    missing)."""

    days: np.ndarray  # datetime64[D], consecutive
    price: np.ndarray
    load: np.ndarray
    res: np.ndarray
    hour0: int = 0  # CET hour of column 0 (0 for fixed-CET days; see :meth:`ending_at`)

    def __len__(self) -> int:
        return len(self.days)

    @property
    def weekday(self) -> np.ndarray:
        """Monday = 0 .. Sunday = 6 of each day."""
        return ((self.days.astype(np.int64) + 3) % 7).astype(np.int64)

    def index_of(self, day: str | np.datetime64) -> int:
        """Row of ``day`` (ValueError outside the panel)."""
        at = int((np.datetime64(str(day), "D") - self.days[0]).astype(np.int64))
        if not 0 <= at < len(self.days):
            raise ValueError(f"day {day} is outside the data ({self.days[0]} .. {self.days[-1]})")
        return at

    @classmethod
    def from_frame(cls, frame: FrameLike) -> DayPanel:
        """Whole fixed-UTC+01:00 days of an hourly frame (partial first/last days are cut)."""
        data = HourlyFrame.from_frame(frame)
        times = data.times
        local = times + _CET
        first_day = local[0].astype("datetime64[D]")
        if local[0] != first_day.astype("datetime64[h]"):
            first_day = first_day + np.timedelta64(1, "D")
        start = first_day.astype("datetime64[h]") - _CET
        offset = int((start - times[0]).astype(np.int64))
        n_days = (len(times) - offset) // HOURS
        if n_days <= 0:
            raise ValueError("the frame holds no whole day")

        def block(values: np.ndarray) -> np.ndarray:
            part = _fill_gaps(np.asarray(values, dtype=float))[offset : offset + n_days * HOURS]
            return part.reshape(n_days, HOURS)

        parts = [np.asarray(data[c], dtype=float) for c in ("wind_onshore", "wind_offshore", "solar")]
        stacked = np.vstack(parts)
        res = np.nansum(stacked, axis=0)
        res[np.isnan(stacked).all(axis=0)] = np.nan
        days = first_day + np.arange(n_days).astype("timedelta64[D]")
        return cls(days, block(data["price"]), block(data["load_forecast"]), block(res))

    @classmethod
    def ending_at(
        cls, frame: HourlyFrame, end: np.datetime64, history_days: int, future_days: int
    ) -> DayPanel:
        """Rows of 24 hours ending exactly at ``end`` (``history_days`` rows) and continuing after
        it (``future_days`` rows), as a live week-ahead forecast issued at ``end`` sees them:
        prices from ``end`` on are hidden (NaN), hours outside ``frame`` are NaN. Row ``j`` is
        labelled with the CET date of its middle; :attr:`hour0` is the CET hour of ``end`` (0 in
        winter and 23 in summer for a local-midnight ``end``), so the model's hour feature stays
        the CET hour it was trained on."""
        end = end.astype("datetime64[h]")
        start = end - np.timedelta64(history_days * HOURS, "h")
        n = (history_days + future_days) * HOURS
        lo = int((start - frame.start) // np.timedelta64(1, "h"))

        def column(name: str) -> np.ndarray:
            out = np.full(n, np.nan)
            values = np.asarray(frame[name], dtype=float)
            a, b = max(lo, 0), min(lo + n, len(values))
            if b > a:
                out[a - lo : b - lo] = values[a:b]
            return out

        price = column("price")
        price[history_days * HOURS :] = np.nan

        def block(values: np.ndarray) -> np.ndarray:
            return _fill_gaps(values).reshape(-1, HOURS)

        stacked = np.vstack([column(c) for c in ("wind_onshore", "wind_offshore", "solar")])
        res = np.nansum(stacked, axis=0)
        res[np.isnan(stacked).all(axis=0)] = np.nan
        starts = start + np.arange(history_days + future_days) * np.timedelta64(HOURS, "h")
        days = (starts + _CET + np.timedelta64(12, "h")).astype("datetime64[D]")
        local = start + _CET
        hour0 = int((local - local.astype("datetime64[D]").astype("datetime64[h]")) // np.timedelta64(1, "h"))
        return cls(days, block(price), block(column("load_forecast")), block(res), hour0)


def naive_day_ahead(panel: DayPanel) -> np.ndarray:
    """The paper's naive forecast for every day: the same hour of ``D-7`` for Monday, Saturday and
    Sunday, of ``D-1`` otherwise (NaN where that day is before the panel)."""
    n = len(panel)
    out = np.full((n, HOURS), np.nan)
    lag = np.where(np.isin(panel.weekday, (0, 5, 6)), 7, 1)
    rows = np.arange(n) - lag
    ok = rows >= 0
    out[ok] = panel.price[rows[ok]]
    return out


def naive_week_ahead(panel: DayPanel, issue_row: int, horizon_day: int) -> np.ndarray:
    """Naive known at issue time for target ``D + horizon_day`` (``D = issue_row + 1``): the same
    hour one week before the target (``D-7+k``, always published by ``D-1`` for ``k <= 6``)."""
    row = issue_row + 1 + horizon_day - 7
    return panel.price[row] if row >= 0 else np.full(HOURS, np.nan)


def climatology_week_ahead(panel: DayPanel, issue_row: int, horizon_day: int, weeks: int = 4) -> np.ndarray:
    """Weekly-profile climatology: mean of the same weekday and hour over the last ``weeks`` weeks
    that are known at issue time (rows ``target - 7j <= issue_row``)."""
    target = issue_row + 1 + horizon_day
    rows = [target - 7 * j for j in range(1, weeks + 8) if 0 <= target - 7 * j <= issue_row][:weeks]
    if not rows:
        return np.full(HOURS, np.nan)
    return np.asarray(np.nanmean(panel.price[rows], axis=0))


def smape(forecast: np.ndarray, actual: np.ndarray) -> float:
    """sMAPE in percent, ``100 * mean(2|f - a| / (|f| + |a|))``, 0/0 counted as 0."""
    denom = np.abs(forecast) + np.abs(actual)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denom > 0, 2 * np.abs(forecast - actual) / denom, 0.0)
    return float(100 * np.mean(ratio))


def pinball(quantiles: dict[float, np.ndarray], actual: np.ndarray) -> float:
    """Mean pinball loss over the given quantile levels (EUR/MWh)."""
    losses = []
    for q, f in quantiles.items():
        d = actual - f
        losses.append(np.mean(np.maximum(q * d, (q - 1) * d)))
    return float(np.mean(losses))


def score_block(
    p50: np.ndarray,
    actual: np.ndarray,
    naive: np.ndarray,
    p10: np.ndarray | None = None,
    p90: np.ndarray | None = None,
) -> dict[str, float]:
    """Scores over the hours where actual, forecast and naive are all finite: MAE, rMAE (MAE over
    the naive's MAE on the same hours), sMAPE, and with a band the P10-P90 coverage and the
    pinball loss of the three quantiles."""
    ok = np.isfinite(actual) & np.isfinite(p50) & np.isfinite(naive)
    if p10 is not None and p90 is not None:
        ok &= np.isfinite(p10) & np.isfinite(p90)
    if not ok.any():
        raise ValueError("no scorable hours")
    a, f, nv = actual[ok], p50[ok], naive[ok]
    mae = float(np.mean(np.abs(f - a)))
    naive_mae = float(np.mean(np.abs(nv - a)))
    out = {"mae": mae, "rmae": mae / naive_mae if naive_mae > 0 else float("nan"), "smape": smape(f, a)}
    if p10 is not None and p90 is not None:
        lo, hi = p10[ok], p90[ok]
        out["coverage_p10_p90"] = float(np.mean((a >= lo) & (a <= hi)))
        out["pinball"] = pinball({0.1: lo, 0.5: f, 0.9: hi}, a)
    return out
