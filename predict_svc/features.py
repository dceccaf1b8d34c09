"""Feature matrix for direct multi-horizon price forecasting.

A row describes one *target* hour ``t`` forecast from an *origin* hour ``o = t - h`` (``h`` is the
horizon, 1..24). Only prices up to and including ``o`` are used; the day-ahead load and wind/solar
forecasts for ``t`` are used because they are published before the hour (that is what "day-ahead"
means), and calendar features are always known.

Why level-free features: prices in these zones moved from ~30 EUR/MWh (2019-20) to ~800 (2022)
and back. Trees cannot extrapolate levels, so the model learns the *change* ``p[t] - p[o]`` and
every price feature is expressed relative to the last known price ``p[o]``; the target is further
divided by a recent volatility scale so the quantile band adapts to calm and turbulent regimes.

Price lags: ``p[o-k]`` for k in 1..167 (selected), and target-aligned ``p[t-24]``, ``p[t-48]``,
``p[t-168]`` which are always known for ``h <= 24``; the target-aligned "step into the hour" of
yesterday and last week captures the daily and weekly shape of the day-ahead curve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import holidays
import numpy as np
import pandas as pd

__all__ = ["FEATURE_NAMES", "LOCAL_TZ", "MAX_LAG", "FeatureSet", "build_features", "calendar_features"]

LOCAL_TZ = "Europe/Oslo"
MAX_LAG = 168 + 24  # rows of history needed before the first usable target
_ORIGIN_LAGS = (1, 2, 3, 4, 5, 6, 12, 23, 24, 25, 47, 71, 167)
_TARGET_LAGS = (24, 48, 72, 168)
_SCALE_FLOOR = 0.5  # EUR/MWh: keeps the scale finite in flat price periods

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
    target_index: pd.DatetimeIndex
    last_price: np.ndarray  # p[o] for each row
    scale: np.ndarray  # volatility scale used to normalise the target
    y: np.ndarray | None  # scaled change (p[t] - p[o]) / scale, NaN when p[t] unknown


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


def _rolling(a: np.ndarray, window: int, fn: str) -> np.ndarray:
    series = pd.Series(a)
    roll = series.rolling(window, min_periods=max(1, window // 2))
    return getattr(roll, fn)().to_numpy()


def calendar_features(index: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Local-time calendar features (Europe/Oslo) and Norwegian public holidays."""
    local = index.tz_convert(LOCAL_TZ)
    years = sorted(set(local.year))
    no_holidays = holidays.country_holidays("NO", years=years) if years else {}
    dates = local.date
    is_holiday = np.fromiter((d in no_holidays for d in dates), dtype=bool, count=len(dates))
    dow = local.day_of_week.to_numpy()
    return {
        "hour": local.hour.to_numpy().astype(float),
        "dow": dow.astype(float),
        "month": local.month.to_numpy().astype(float),
        "doy": local.day_of_year.to_numpy().astype(float),
        "is_holiday": is_holiday.astype(float),
        "is_workday": ((dow < 5) & ~is_holiday).astype(float),
        "hour_of_week": (dow * 24 + local.hour.to_numpy()).astype(float),
    }


def build_features(
    frame: pd.DataFrame,
    horizon: int,
    temperature: pd.Series | None = None,
    targets: pd.DatetimeIndex | None = None,
) -> FeatureSet:
    """Features for every hour of ``frame`` (or only ``targets``) as a target ``horizon`` ahead.

    ``frame`` is a regular hourly UTC frame from :func:`predict_svc.market.load_market`. Prices
    after an origin may be present (training, backtest): they are never read for that origin's
    row. ``temperature`` (deg C, same index) is optional; absent means NaN, which LightGBM treats
    as missing.
    """
    if not 1 <= horizon <= 24:
        raise ValueError(f"horizon must be 1..24, got {horizon}")
    h = horizon
    p = frame["price"].to_numpy(dtype=float)
    last = _shift(p, h)  # p[o]
    cols: dict[str, np.ndarray] = {"horizon": np.full(len(p), float(h)), "last_price": last}
    for k in _ORIGIN_LAGS:
        cols[f"olag_{k}"] = _shift(p, h + k) - last
    for k in _TARGET_LAGS:
        cols[f"tlag_{k}"] = _shift(p, k) - last
    cols["tstep_24"] = _shift(p, 24) - _shift(p, 25)
    cols["tstep_168"] = _shift(p, 168) - _shift(p, 169)
    # p[t-23] is only known when the origin is at least 23 hours after it (h <= 23).
    cols["tstep2_24"] = _shift(p, 24) - _shift(p, 23) if h <= 23 else np.full(len(p), np.nan)
    # Rolling statistics over the window ending at the origin.
    diffs = np.abs(np.diff(p, prepend=np.nan))
    stats = {
        "mean_6": _rolling(p, 6, "mean"),
        "mean_24": _rolling(p, 24, "mean"),
        "std_24": _rolling(p, 24, "std"),
        "min_24": _rolling(p, 24, "min"),
        "max_24": _rolling(p, 24, "max"),
        "mean_168": _rolling(p, 168, "mean"),
        "std_168": _rolling(p, 168, "std"),
    }
    for name, values in stats.items():
        shifted = _shift(values, h)
        cols[name] = shifted - last if name.startswith(("mean", "min", "max")) else shifted
    scale = np.maximum(_shift(_rolling(diffs, 168, "mean"), h), _SCALE_FLOOR)
    scale = np.where(np.isnan(scale), _SCALE_FLOOR * 4, scale)
    cols["scale"] = scale
    load = frame["load_forecast"].to_numpy(dtype=float)
    cols["load_fc"] = load
    cols["load_fc_d_origin"] = load - _shift(load, h)
    cols["load_fc_d_24"] = load - _shift(load, 24)
    cols["load_fc_d_1"] = load - _shift(load, 1)
    cols["load_fc_rel"] = load / _rolling(load, 168, "mean")
    wind = np.nansum(
        np.vstack([frame["wind_onshore"].to_numpy(float), frame["wind_offshore"].to_numpy(float)]), axis=0
    )
    wind[
        np.isnan(frame["wind_onshore"].to_numpy(float)) & np.isnan(frame["wind_offshore"].to_numpy(float))
    ] = np.nan
    cols["wind_fc"] = wind
    cols["wind_fc_d_origin"] = wind - _shift(wind, h)
    cols["wind_fc_d_1"] = wind - _shift(wind, 1)
    cols["solar_fc"] = frame["solar"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        cols["wind_share"] = wind / load
    cols["temperature"] = (
        temperature.reindex(frame.index).to_numpy(dtype=float)
        if temperature is not None
        else np.full(len(p), np.nan)
    )
    cols.update(calendar_features(pd.DatetimeIndex(frame.index)))
    X = np.column_stack([cols[name] for name in FEATURE_NAMES]).astype(np.float32)
    with np.errstate(invalid="ignore"):
        y = (p - last) / scale
    index = pd.DatetimeIndex(frame.index)
    if targets is not None:
        pos = index.get_indexer(targets)
        if (pos < 0).any():
            raise ValueError("targets outside the frame")
        return FeatureSet(X[pos], index[pos], last[pos], scale[pos], y[pos])
    return FeatureSet(X, index, last, scale, y)


def stack_horizons(
    frame: pd.DataFrame, horizons: Sequence[int], temperature: pd.Series | None = None
) -> FeatureSet:
    """Rows for several horizons stacked (the direct multi-horizon training set)."""
    parts = [build_features(frame, h, temperature) for h in horizons]
    return FeatureSet(
        np.vstack([f.X for f in parts]),
        pd.DatetimeIndex(
            np.concatenate([f.target_index.tz_convert(None).to_numpy() for f in parts])
        ).tz_localize("UTC"),
        np.concatenate([f.last_price for f in parts]),
        np.concatenate([f.scale for f in parts]),
        np.concatenate([f.y for f in parts if f.y is not None]),
    )
