"""Household consumption forecasts and the cost figures built on them (vectorised).

Consumption model (next hour, kWh = mean kW over the hour). With recent readings it blends
persistence and the daily pattern, then corrects for the temperature change when the household
heats with electricity::

    base = 0.5 * last_hour + 0.3 * same_hour_yesterday + 0.2 * mean_of_recent   (h = 1)
           + heat_coeff * (HDD(t_next) - HDD(t_now))          # HDD(t) = max(0, 17 C - t)

Without readings it falls back to a profile prior (residents, heating, EV, solar, temperature).
Every formula works on whole numpy arrays so a batch of 10,000 households is one pass, no per-row
Python (PredictBatch targets >= 50,000 rows/s).

Price-derived figures: cheapest hours of the next 24 h (by median retail price). The probability
that an hour's spot price exceeds a threshold is :func:`predict_svc.quantiles.exceed_probability`,
the same as GetPriceForecast's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np

__all__ = [
    "ELECTRIC_HEATING",
    "HouseholdBatch",
    "cheapest_hours",
    "forecast_consumption_kwh",
    "heating_degrees",
]

ELECTRIC_HEATING = ("heat_pump", "electric", "panel", "electric_panel", "floor_heating", "direct_electric")
_HDD_BASE_C = 17.0
_HEAT_COEFF = {"heat_pump": 0.08, "electric": 0.2}  # kW per heating degree
_WINDOW = 24


@dataclass(frozen=True)
class HouseholdBatch:
    """Inputs for ``n`` households as arrays (``recent_kw`` is NaN-padded on the left)."""

    recent_kw: np.ndarray  # (n, 24), most recent last, NaN where unknown
    residents: np.ndarray  # (n,)
    heat_coeff: np.ndarray  # (n,) kW per heating degree
    has_ev: np.ndarray  # (n,) bool
    has_solar: np.ndarray  # (n,) bool

    @classmethod
    def from_rows(
        cls,
        recent: Sequence[Sequence[float]],
        residents: list[int],
        heating: list[str],
        has_ev: list[bool],
        has_solar: list[bool],
    ) -> HouseholdBatch:
        n = len(recent)
        if n and all(len(values) == _WINDOW for values in recent):
            # The usual batch: every household has a full day. One flat pass, no per-row slicing.
            matrix = np.fromiter(chain.from_iterable(recent), float, n * _WINDOW).reshape(n, _WINDOW)
        else:
            matrix = np.full((n, _WINDOW), np.nan)
            for i, values in enumerate(recent):  # ragged rows; the model math is vectorised
                count = len(values)
                if count:
                    tail = list(values[-_WINDOW:] if count > _WINDOW else values)
                    matrix[i, _WINDOW - len(tail) :] = tail
        return cls(
            recent_kw=matrix,
            residents=np.asarray(residents, dtype=float),
            heat_coeff=heat_coefficients(heating),
            has_ev=np.asarray(has_ev, dtype=bool),
            has_solar=np.asarray(has_solar, dtype=bool),
        )


def heat_coefficients(heating: Sequence[str]) -> np.ndarray:
    """kW per heating degree for each heating name (0 for non-electric or unknown)."""
    names, inverse = np.unique(np.asarray(heating, dtype=object).astype(str), return_inverse=True)
    per_name = np.zeros(len(names))
    for j, name in enumerate(names):  # a handful of distinct names, not one per household
        key = name.strip().lower()
        if key == "heat_pump":
            per_name[j] = _HEAT_COEFF["heat_pump"]
        elif key in ELECTRIC_HEATING:
            per_name[j] = _HEAT_COEFF["electric"]
    return per_name[inverse.reshape(-1)] if len(heating) else np.zeros(0)


def heating_degrees(temperature_c: np.ndarray | float) -> np.ndarray:
    return np.maximum(0.0, _HDD_BASE_C - np.asarray(temperature_c, dtype=float))


def _profile_prior(batch: HouseholdBatch, temperature_c: np.ndarray, hour: np.ndarray) -> np.ndarray:
    residents = np.where(batch.residents > 0, batch.residents, 2.5)
    # Daily shape: low at night, morning and evening peaks (fractions of the daily mean).
    shape = 1.0 + 0.35 * np.cos((hour - 19) / 24 * 2 * np.pi) - 0.25 * (hour < 6)
    base = (0.25 + 0.12 * residents) * shape
    heat = batch.heat_coeff * heating_degrees(temperature_c)
    ev = np.where(batch.has_ev & ((hour >= 22) | (hour < 6)), 1.2, 0.0)
    solar = np.where(batch.has_solar & (hour >= 10) & (hour <= 16), -0.6, 0.0)
    kwh: np.ndarray = base + heat + ev + solar
    return kwh


def forecast_consumption_kwh(
    batch: HouseholdBatch,
    temperature_now_c: np.ndarray | float,
    temperature_next_c: np.ndarray | float,
    local_hour_next: np.ndarray | int,
    horizon: int = 1,
) -> np.ndarray:
    """Net consumption (kWh) of the hour ``horizon`` ahead for each household (negative when
    exporting). Further ahead, persistence of the last hour counts less and the same hour
    yesterday (``recent[horizon - 1]``, 24 h before the target) counts more."""
    if not 1 <= horizon <= _WINDOW:
        raise ValueError(f"horizon must be 1..{_WINDOW}")
    n = batch.recent_kw.shape[0]
    t_now = np.broadcast_to(np.asarray(temperature_now_c, dtype=float), (n,))
    t_next = np.broadcast_to(np.asarray(temperature_next_c, dtype=float), (n,))
    hour = np.broadcast_to(np.asarray(local_hour_next, dtype=float), (n,))
    recent = batch.recent_kw
    last = recent[:, -1]
    yesterday = recent[:, horizon - 1]  # 24 h before the target hour
    known = np.isfinite(recent)
    count = known.sum(axis=1)
    mean = np.where(count > 0, np.nansum(np.where(known, recent, 0.0), axis=1) / np.maximum(count, 1), np.nan)
    prior = _profile_prior(batch, t_next, hour)
    # Weights renormalised over the parts that are known for each household.
    parts = np.vstack([last, yesterday, mean])
    w_last = 0.5 * 0.8 ** (horizon - 1)
    weights = np.array([w_last, 0.8 - w_last, 0.2])[:, None] * np.isfinite(parts)
    total = weights.sum(axis=0)
    blended = np.where(
        total > 0,
        np.nansum(np.where(np.isfinite(parts), parts, 0.0) * weights, axis=0) / np.maximum(total, 1e-9),
        prior,
    )
    temp_adjust = batch.heat_coeff * (heating_degrees(t_next) - heating_degrees(t_now))
    result = np.where(total > 0, blended + temp_adjust, prior)
    # Without solar a household cannot export.
    return np.where(batch.has_solar, result, np.maximum(result, 0.0))


def cheapest_hours(prices: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` lowest prices, cheapest first (ties: earlier hour first)."""
    order = np.argsort(np.asarray(prices, dtype=float), kind="stable")
    return order[: max(0, count)]
