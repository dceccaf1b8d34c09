"""Synthetic market: the embedded default when no market data is configured.

Generated series have the same columns as :func:`predict_svc.market.load_market`. The price
model is additive, hour by hour (local time, Europe/Oslo)::

    price = level[day] + dow[weekday] + rel[day] * (shape[workday|weekend][hour]
            + beta_load * (load_fc - daily mean load_fc) + beta_wind * (wind - daily mean wind)
            + ar1_noise + spike)

where ``rel = (level + LEVEL_SHIFT) / exp(level_log_mean)``: swings scale with the level.

* ``log(level + LEVEL_SHIFT)`` is an AR(1) over days (persistence ``level_phi``), so levels
  are right-skewed like real prices;
* ``shape`` is the mean intraday profile, separately for workdays and weekends;
* hourly noise is AR(1) (``noise_phi``, ``noise_sigma``); spikes arrive with ``spike_rate`` per
  hour and exponential size ``spike_mean`` (sign drawn with ``spike_up_share``);
* load is a month-by-hour profile plus AR(1) noise; wind is an AR(1) in hourly steps, clipped at 0.

Negative hours are not forced: they arise where a low level meets a night trough, wind and noise,
as in the real data; the test compares their frequency with the calibrated share.

:func:`fit_params` estimates every parameter from a market frame. It is run offline on the shared
ENTSO-E data by ``python -m predict_svc.calibrate_synthetic`` which writes the small committed
``synthetic_params.json``; the same function applied to generated data recovers the parameters,
which is how the tests check the generator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from energy.localtime import LOCAL_TZ
from predict_svc.features import calendar_features
from predict_svc.hourly import HourlyFrame, hour64, hours_array, local_wall
from predict_svc.market import COLUMNS

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported by fit_params only (offline calibration): the service generates its market
# with numpy, without importing pandas (resident memory).

__all__ = ["PARAMS_FILE", "SyntheticParams", "fit_params", "generate_market", "load_params"]

PARAMS_FILE = Path(__file__).with_name("synthetic_params.json")
# Daily levels are log-normal after this shift: skewed upwards like real prices, and only
# slightly negative days are possible (negative *hours* come from shape, wind and noise).
LEVEL_SHIFT = 10.0


@dataclass(frozen=True)
class SyntheticParams:
    level_mean: float  # observed daily level (for checking)
    level_log_mean: float  # log(level + LEVEL_SHIFT) is AR(1): mean, sd, persistence
    level_log_sd: float
    level_phi: float
    dow: list[float]  # 7 values, Monday first
    shape_workday: list[float]  # 24 values by local hour
    shape_weekend: list[float]
    beta_load: float  # EUR/MWh per MW
    beta_wind: float
    noise_phi: float
    noise_sigma: float
    spike_rate: float
    spike_mean: float  # mean |size| of spikes; a spike is at least spike_floor
    spike_floor: float
    spike_up_share: float
    negative_share: float  # observed, for checking only
    load_profile: list[list[float]]  # 12 months x 24 hours, MW
    load_noise_sd: float
    wind_mean: float
    wind_sd: float
    wind_phi: float
    price_mean: float  # observed, for checking only
    price_sd: float

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _ar1(x: np.ndarray) -> tuple[float, float]:
    """AR(1) coefficient and innovation sd of a series (NaN-safe)."""
    a, b = x[:-1], x[1:]
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return 0.0, float(np.nanstd(x))
    a, b = a[ok] - np.mean(a[ok]), b[ok] - np.mean(b[ok])
    phi = float(np.clip(np.dot(a, b) / max(np.dot(a, a), 1e-12), -0.99, 0.999))
    return phi, float(np.std(b - phi * a))


def fit_params(frame: pd.DataFrame) -> SyntheticParams:
    """Estimate generator parameters from an hourly market frame (see module docstring)."""
    import pandas as pd

    frame = frame.dropna(subset=["price"])
    local = frame.index.tz_convert(LOCAL_TZ)
    cal = calendar_features(frame.index)
    price = frame["price"].to_numpy(float)
    day = pd.Index(local.date)
    daily = pd.Series(price).groupby(day).mean()
    day_mean = daily.reindex(day).to_numpy()
    dow_of_day = pd.Series(pd.to_datetime(daily.index).day_of_week, index=daily.index)
    weekly = daily.rolling(7, center=True, min_periods=4).mean()
    dow = (daily - weekly).groupby(dow_of_day.to_numpy()).mean().reindex(range(7)).fillna(0.0)
    # The level is the daily mean net of the weekday effect.
    level = daily - dow.reindex(dow_of_day.to_numpy()).to_numpy()
    log_level = np.log(np.maximum(level.to_numpy() + LEVEL_SHIFT, 1.0))
    level_phi, _ = _ar1(log_level)
    # Intraday swings scale with the day's level (a 5 EUR day barely moves; a 200 EUR day swings
    # by tens): everything below the level is fitted in units of the relative level ``rel``.
    rel_day = np.exp(log_level - log_level.mean())
    rel = pd.Series(rel_day, index=daily.index).reindex(day).to_numpy()
    dev = (price - day_mean) / rel
    hour = cal["hour"].astype(int)
    workday = cal["is_workday"] > 0
    shape_w = pd.Series(dev[workday]).groupby(hour[workday]).mean().reindex(range(24)).fillna(0.0)
    shape_e = pd.Series(dev[~workday]).groupby(hour[~workday]).mean().reindex(range(24)).fillna(0.0)
    resid = dev - np.where(workday, shape_w.to_numpy()[hour], shape_e.to_numpy()[hour])
    load = frame["load_forecast"].to_numpy(float)
    wind = np.nansum(
        np.vstack([frame["wind_onshore"].to_numpy(float), frame["wind_offshore"].to_numpy(float)]), axis=0
    )
    load_dev = load - pd.Series(load).groupby(day).transform("mean").to_numpy()
    wind_dev = wind - pd.Series(wind).groupby(day).transform("mean").to_numpy()
    design = np.column_stack([load_dev, wind_dev])
    ok = np.isfinite(design).all(axis=1) & np.isfinite(resid)
    beta, *_ = np.linalg.lstsq(design[ok], resid[ok], rcond=None) if ok.sum() > 10 else (np.zeros(2),)
    noise = resid - np.nan_to_num(design @ beta)
    robust_sd = float(1.4826 * np.nanmedian(np.abs(noise - np.nanmedian(noise))))
    spikes = np.abs(noise) > 5 * max(robust_sd, 1e-6)
    noise_phi, noise_sigma = _ar1(np.where(spikes, 0.0, noise))
    month = local.month.to_numpy() - 1
    load_profile = pd.DataFrame({"m": month, "h": hour, "v": load}).groupby(["m", "h"])["v"].mean()
    full = load_profile.reindex(pd.MultiIndex.from_product([range(12), range(24)]))
    full = full.fillna(float(np.nanmean(load)) if np.isfinite(np.nanmean(load)) else 0.0)
    load_noise = load - full.to_numpy().reshape(12, 24)[month, hour]
    wind_phi, _ = _ar1(wind)
    return SyntheticParams(
        level_mean=float(level.mean()),
        level_log_mean=float(log_level.mean()),
        level_log_sd=float(log_level.std()),
        level_phi=level_phi,
        dow=[float(v) for v in dow.to_numpy()],
        shape_workday=[float(v) for v in shape_w.to_numpy()],
        shape_weekend=[float(v) for v in shape_e.to_numpy()],
        beta_load=float(beta[0]),
        beta_wind=float(beta[1]),
        noise_phi=noise_phi,
        noise_sigma=noise_sigma,
        spike_rate=float(spikes[np.isfinite(noise)].mean()),
        spike_mean=float(np.mean(np.abs(noise[spikes]))) if spikes.any() else 0.0,
        spike_floor=5 * max(robust_sd, 1e-6),
        spike_up_share=float(np.mean(noise[spikes] > 0)) if spikes.any() else 0.5,
        negative_share=float(np.mean(price < 0)),
        load_profile=[[float(v) for v in row] for row in full.to_numpy().reshape(12, 24)],
        load_noise_sd=float(np.nanstd(load_noise)),
        wind_mean=float(np.nanmean(wind)),
        wind_sd=float(np.nanstd(wind)),
        wind_phi=wind_phi,
        price_mean=float(np.mean(price)),
        price_sd=float(np.std(price)),
    )


def load_params(zone: str, path: Path = PARAMS_FILE) -> SyntheticParams:
    """Calibrated parameters of ``zone`` (zones not in the file use the first one listed)."""
    doc = json.loads(path.read_text())
    zones = doc["zones"]
    chosen = zones.get(zone.upper()) or next(iter(zones.values()))
    return SyntheticParams(**chosen)


def _ar1_path(rng: np.random.Generator, n: int, phi: float, sigma: float, sd0: float) -> np.ndarray:
    shocks = rng.normal(0.0, sigma, n)
    out = np.empty(n)
    prev = rng.normal(0.0, sd0)
    for i in range(n):  # n is hours of a simulated span, generated once at start-up
        prev = phi * prev + shocks[i]
        out[i] = prev
    return out


def _group_mean(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each element's group mean (groups given by integer ``codes``)."""
    sums = np.bincount(codes, weights=values)
    counts = np.bincount(codes)
    means: np.ndarray = (sums / counts)[codes]
    return means


def generate_market(
    params: SyntheticParams, start: datetime | np.datetime64, end: datetime | np.datetime64, seed: int = 0
) -> HourlyFrame:
    """Hourly synthetic market between ``start`` and ``end`` (UTC, inclusive), reproducible by seed."""
    first, last = hour64(start), hour64(end)
    n = max(int((last - first) // np.timedelta64(1, "h")) + 1, 0)
    times = hours_array(first + np.arange(n).astype("timedelta64[h]"))
    rng = np.random.default_rng(seed)
    local = local_wall(times, LOCAL_TZ)
    cal = calendar_features(times)
    hour = cal["hour"].astype(int)
    month = local.astype("datetime64[M]").astype(np.int64) % 12
    _days, day_codes = np.unique(local.astype("datetime64[D]"), return_inverse=True)
    day_codes = day_codes.reshape(-1)
    # Daily level: AR(1) with the calibrated stationary sd.
    innov = params.level_log_sd * np.sqrt(max(1 - params.level_phi**2, 1e-6))
    log_level = params.level_log_mean + _ar1_path(
        rng, len(_days), params.level_phi, innov, params.level_log_sd
    )
    level = np.exp(log_level) - LEVEL_SHIFT
    dow = np.asarray(params.dow)[cal["dow"].astype(int)]
    shape = np.where(
        cal["is_workday"] > 0, np.asarray(params.shape_workday)[hour], np.asarray(params.shape_weekend)[hour]
    )
    load = np.asarray(params.load_profile)[month, hour] + _ar1_path(
        rng, n, 0.9, params.load_noise_sd * np.sqrt(1 - 0.81), params.load_noise_sd
    )
    wind_innov = params.wind_sd * np.sqrt(max(1 - params.wind_phi**2, 1e-6))
    wind = np.maximum(params.wind_mean + _ar1_path(rng, n, params.wind_phi, wind_innov, params.wind_sd), 0.0)
    load_dev = load - _group_mean(load, day_codes)
    wind_dev = wind - _group_mean(wind, day_codes)
    noise = _ar1_path(rng, n, params.noise_phi, params.noise_sigma, params.noise_sigma)
    spike_on = rng.random(n) < params.spike_rate
    spike_sign = np.where(rng.random(n) < params.spike_up_share, 1.0, -1.0)
    excess = max(params.spike_mean - params.spike_floor, 1e-9)
    spikes = spike_on * spike_sign * (params.spike_floor + rng.exponential(excess, n))
    rel = np.exp(log_level - params.level_log_mean)[day_codes]
    swing = shape + params.beta_load * load_dev + params.beta_wind * wind_dev + noise + spikes
    price = level[day_codes] + dow + rel * swing
    columns = {c: np.full(n, np.nan) for c in COLUMNS}
    columns["price"] = np.round(price, 2)
    columns["load_forecast"] = np.round(load, 2)
    columns["actual_load"] = np.round(load + rng.normal(0, params.load_noise_sd * 0.2, n), 2)
    columns["solar"] = np.zeros(n)
    columns["wind_onshore"] = np.round(wind, 2)
    return HourlyFrame(first, columns)
