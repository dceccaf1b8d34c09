"""Feature matrix for direct multi-horizon price forecasting.

A row describes one *target* hour ``t`` forecast from an *origin* hour ``o = t - h`` (``h`` is the
horizon, 1..192; beyond 24 h the target-aligned lags after the origin and the target's day-ahead
load and wind/solar forecasts are missing, as they are at a live origin). Only prices up to and including ``o`` are used; the day-ahead load and wind/solar
forecasts for ``t`` are used because they are published before the hour (that is what "day-ahead"
means), and calendar features are always known.

Why level-free features: prices in these zones moved from ~30 EUR/MWh (2019-20) to ~800 (2022)
and back. Trees cannot extrapolate levels, so the model learns the *change* ``p[t] - p[o]`` and
every price feature is expressed relative to the last known price ``p[o]``; the target is further
divided by a recent volatility scale so the quantile band adapts to calm and turbulent regimes.

Price lags: ``p[o-k]`` for k in 1..167 (selected), and target-aligned ``p[t-24]``, ``p[t-48]``,
``p[t-168]`` which are always known for ``h <= 24``; the target-aligned "step into the hour" of
yesterday and last week captures the daily and weekly shape of the day-ahead curve.

No pandas: the serving process builds the rows of a live forecast with this same code, so a
served feature row is the training row bit for bit. Rolling statistics therefore add each
window's values in a fixed order (newest first) instead of pandas' running sums, whose last bits
depend on where the series starts (tests/predict_svc/test_features.py compares a live
forecast's rows with the rows of the whole training frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import holidays
import numpy as np

from energy.localtime import LOCAL_TZ
from predict_svc.hourly import HOUR, FrameLike, HourlyFrame, TimesLike, hours_array, local_wall

__all__ = [
    "FEATURE_NAMES",
    "MAX_HORIZON",
    "MAX_LAG",
    "FeatureSet",
    "SeriesStats",
    "build_features",
    "calendar_features",
    "rolling",
    "series_stats",
    "stack_horizons",
]

MAX_LAG = 168 + 24  # rows of history needed before the first usable target
MAX_HORIZON = 192  # hours ahead of the origin: 10:00 CET on D-1 to the end of D+6 is ~182 h
_ORIGIN_LAGS = (1, 2, 3, 4, 5, 6, 12, 23, 24, 25, 47, 71, 167)
_TARGET_LAGS = (24, 48, 72, 168)
_SCALE_FLOOR = 0.5  # EUR/MWh: keeps the scale finite in flat price periods
_PRICE_STATS = (
    ("mean_6", 6, "mean"),
    ("mean_24", 24, "mean"),
    ("std_24", 24, "std"),
    ("min_24", 24, "min"),
    ("max_24", 24, "max"),
    ("mean_168", 168, "mean"),
    ("std_168", 168, "std"),
)

FEATURE_NAMES: tuple[str, ...] = (
    "horizon",
    "last_price",
    *(f"olag_{k}" for k in _ORIGIN_LAGS),
    *(f"tlag_{k}" for k in _TARGET_LAGS),
    *("tstep_24", "tstep_168", "tstep2_24"),
    *("mean_6", "mean_24", "std_24", "min_24", "max_24", "mean_168", "std_168", "scale"),
    *("load_fc", "load_fc_d_origin", "load_fc_d_24", "load_fc_d_1", "load_fc_rel"),
    *("wind_fc", "wind_fc_d_origin", "wind_fc_d_1", "solar_fc", "wind_share"),
    "temperature",
    *("hour", "dow", "month", "doy", "is_holiday", "is_workday", "hour_of_week"),
)


@dataclass(frozen=True)
class FeatureSet:
    """Features for one horizon: ``X[i]`` predicts ``target_index[i]``."""

    X: np.ndarray  # float32, shape (n, len(FEATURE_NAMES))
    target_index: np.ndarray  # datetime64[h], UTC
    last_price: np.ndarray  # p[o] for each row
    scale: np.ndarray  # volatility scale used to normalise the target
    y: np.ndarray | None  # scaled change (p[t] - p[o]) / scale, NaN when p[t] unknown

    def subset(self, mask: np.ndarray) -> FeatureSet:
        """The rows selected by ``mask`` (without the target)."""
        return FeatureSet(
            self.X[mask], self.target_index[mask], self.last_price[mask], self.scale[mask], None
        )


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """a shifted by k rows (positive = from the past), NaN padded."""
    out = np.full_like(a, np.nan)
    if k == 0:
        return a.copy()
    if k > 0:
        out[k:] = a[:-k]
    else:
        out[:k] = a[-k:]
    return out


def rolling(a: np.ndarray, window: int, fn: str) -> np.ndarray:
    """Trailing-window ``fn`` (mean, std, min, max) over the ``window`` rows ending at each row,
    NaN where fewer than ``window // 2`` values are present (pandas' ``min_periods``).

    Each row's value depends on the values in its window only (they are added newest first), so
    a short live window gives the same double as the whole training series."""
    values = np.asarray(a, dtype=np.float64)
    n = len(values)
    present = np.isfinite(values)
    count = np.zeros(n)
    for k in range(min(window, n)):
        count[k:] += present[: n - k]
    enough = count >= max(1, window // 2)
    if fn in ("min", "max"):
        pick = np.fmin if fn == "min" else np.fmax
        best = np.where(present, values, np.nan)
        for k in range(1, min(window, n)):
            best[k:] = pick(best[k:], np.where(present[: n - k], values[: n - k], np.nan))
        return np.where(enough, best, np.nan)
    clean = np.where(present, values, 0.0)
    total = np.zeros(n)
    for k in range(min(window, n)):
        total[k:] += clean[: n - k]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(enough, total / count, np.nan)
    if fn == "mean":
        return mean
    if fn != "std":
        raise ValueError(f"unsupported rolling statistic {fn!r}")
    squares = np.zeros(n)
    for k in range(min(window, n)):
        dev = np.where(present[: n - k], values[: n - k] - mean[k:], 0.0)
        squares[k:] += dev * dev
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(enough & (count > 1), np.sqrt(squares / (count - 1)), np.nan)


def calendar_features(times: TimesLike) -> dict[str, np.ndarray]:
    """Local-time calendar features (Europe/Oslo) and Norwegian public holidays of UTC hours
    (``datetime64`` values, or anything :func:`predict_svc.hourly.hours_array` reads)."""
    local = local_wall(hours_array(times), LOCAL_TZ)
    day = local.astype("datetime64[D]")
    hour = ((local - day.astype("datetime64[m]")) // np.timedelta64(60, "m")).astype(np.int64)
    dow = (day.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    month = local.astype("datetime64[M]").astype(np.int64) % 12 + 1
    doy = (day - day.astype("datetime64[Y]")).astype(np.int64) + 1
    dates, inverse = np.unique(day, return_inverse=True)
    years = sorted({int(y) + 1970 for y in np.unique(dates.astype("datetime64[Y]").astype(np.int64))})
    no_holidays = holidays.country_holidays("NO", years=years) if years else {}
    per_date = np.fromiter((d in no_holidays for d in dates.tolist()), dtype=bool, count=len(dates))
    is_holiday = per_date[inverse.reshape(-1)] if len(dates) else np.zeros(0, dtype=bool)
    return {
        "hour": hour.astype(float),
        "dow": dow.astype(float),
        "month": month.astype(float),
        "doy": doy.astype(float),
        "is_holiday": is_holiday.astype(float),
        "is_workday": ((dow < 5) & ~is_holiday).astype(float),
        "hour_of_week": (dow * 24 + hour).astype(float),
    }


@dataclass(frozen=True)
class SeriesStats:
    """What the features need from a frame that does not depend on the horizon (computed once
    per frame: the rolling statistics dominate the cost)."""

    times: np.ndarray  # datetime64[h]
    price: np.ndarray
    price_stats: dict[str, np.ndarray]  # rolling statistics of the price at each row
    diff_mean: np.ndarray  # rolling 168 h mean of |p[i] - p[i-1]|
    load: np.ndarray
    load_rel: np.ndarray  # load / its rolling 168 h mean
    wind: np.ndarray
    solar: np.ndarray
    calendar: dict[str, np.ndarray]


def series_stats(frame: FrameLike) -> SeriesStats:
    """:class:`SeriesStats` of an :class:`HourlyFrame` (or a pandas frame on an hourly grid)."""
    data = HourlyFrame.from_frame(frame)
    p = np.asarray(data["price"], dtype=float)
    load = np.asarray(data["load_forecast"], dtype=float)
    onshore = np.asarray(data["wind_onshore"], dtype=float)
    offshore = np.asarray(data["wind_offshore"], dtype=float)
    wind = np.nansum(np.vstack([onshore, offshore]), axis=0)
    wind[np.isnan(onshore) & np.isnan(offshore)] = np.nan
    diffs = np.abs(np.diff(p, prepend=np.nan))
    with np.errstate(divide="ignore", invalid="ignore"):
        load_rel = load / rolling(load, 168, "mean")
    times = data.times
    return SeriesStats(
        times=times,
        price=p,
        price_stats={name: rolling(p, window, fn) for name, window, fn in _PRICE_STATS},
        diff_mean=rolling(diffs, 168, "mean"),
        load=load,
        load_rel=load_rel,
        wind=wind,
        solar=np.asarray(data["solar"], dtype=float),
        calendar=calendar_features(times),
    )


def build_features(
    frame: FrameLike,
    horizon: int,
    temperature: np.ndarray | None = None,
    targets: TimesLike | None = None,
    stats: SeriesStats | None = None,
) -> FeatureSet:
    """Features for every hour of ``frame`` (or only ``targets``) as a target ``horizon`` ahead.

    ``frame`` is a regular hourly UTC :class:`~predict_svc.hourly.HourlyFrame` (or pandas frame,
    as :func:`predict_svc.market.load_market` returns). Prices after an origin may be present
    (training, backtest): they are never read for that origin's row. ``temperature`` (deg C, one
    value per row) is optional; absent means NaN, which the trees treat as missing. ``stats``
    (from :func:`series_stats` of the same frame) saves recomputing them for every horizon.
    """
    if not 1 <= horizon <= MAX_HORIZON:
        raise ValueError(f"horizon must be 1..{MAX_HORIZON}, got {horizon}")
    h = horizon
    s = stats if stats is not None else series_stats(frame)
    p = s.price
    n = len(p)
    unknown = np.full(n, np.nan)
    last = _shift(p, h)  # p[o]
    cols: dict[str, np.ndarray] = {"horizon": np.full(n, float(h)), "last_price": last}
    for k in _ORIGIN_LAGS:
        cols[f"olag_{k}"] = _shift(p, h + k) - last
    # A target-aligned lag p[t-k] is known at the origin only when k >= h (always for h <= 24).
    for k in _TARGET_LAGS:
        cols[f"tlag_{k}"] = _shift(p, k) - last if k >= h else unknown
    cols["tstep_24"] = _shift(p, 24) - _shift(p, 25) if h <= 24 else unknown
    cols["tstep_168"] = _shift(p, 168) - _shift(p, 169) if h <= 168 else unknown
    # p[t-23] is only known when the origin is at least 23 hours after it (h <= 23).
    cols["tstep2_24"] = _shift(p, 24) - _shift(p, 23) if h <= 23 else np.full(n, np.nan)
    # Rolling statistics over the window ending at the origin.
    for name, values in s.price_stats.items():
        shifted = _shift(values, h)
        cols[name] = shifted - last if name.startswith(("mean", "min", "max")) else shifted
    scale = np.maximum(_shift(s.diff_mean, h), _SCALE_FLOOR)
    scale = np.where(np.isnan(scale), _SCALE_FLOOR * 4, scale)
    cols["scale"] = scale
    # Beyond 24 h the day-ahead load and wind/solar forecasts of the target are not published
    # at the origin: those columns are missing, never the realised values of later days.
    if h > 24:
        load = np.full(n, np.nan)
        wind = np.full(n, np.nan)
        solar = np.full(n, np.nan)
        load_rel = np.full(n, np.nan)
    else:
        load, wind, solar, load_rel = s.load, s.wind, s.solar, s.load_rel
    cols["load_fc"] = load
    cols["load_fc_d_origin"] = load - _shift(load, h)
    cols["load_fc_d_24"] = load - _shift(load, 24)
    cols["load_fc_d_1"] = load - _shift(load, 1)
    cols["load_fc_rel"] = load_rel
    cols["wind_fc"] = wind
    cols["wind_fc_d_origin"] = wind - _shift(wind, h)
    cols["wind_fc_d_1"] = wind - _shift(wind, 1)
    cols["solar_fc"] = solar
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["wind_share"] = wind / load
    cols["temperature"] = (
        np.asarray(temperature, dtype=float) if temperature is not None else np.full(n, np.nan)
    )
    cols.update(s.calendar)
    with np.errstate(invalid="ignore"):
        y = (p - last) / scale
    index = s.times
    if targets is not None:
        pos = (hours_array(targets) - index[0]) // HOUR if n else np.zeros(0, dtype=np.int64)
        pos = np.asarray(pos, dtype=np.int64)
        if ((pos < 0) | (pos >= n)).any():
            raise ValueError("targets outside the frame")
        X = np.column_stack([cols[name][pos] for name in FEATURE_NAMES]).astype(np.float32)
        return FeatureSet(X, index[pos], last[pos], scale[pos], y[pos])
    X = np.column_stack([cols[name] for name in FEATURE_NAMES]).astype(np.float32)
    return FeatureSet(X, index, last, scale, y)


def stack_horizons(
    frame: FrameLike, horizons: Sequence[int], temperature: np.ndarray | None = None
) -> FeatureSet:
    """Rows for several horizons stacked (the direct multi-horizon training set)."""
    stats = series_stats(frame)
    parts = [build_features(frame, h, temperature, stats=stats) for h in horizons]
    return FeatureSet(
        np.vstack([f.X for f in parts]),
        np.concatenate([f.target_index for f in parts]),
        np.concatenate([f.last_price for f in parts]),
        np.concatenate([f.scale for f in parts]),
        np.concatenate([f.y for f in parts if f.y is not None]),
    )
