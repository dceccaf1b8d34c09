"""Vectorised bill arithmetic (numpy, pandas): forecast costs and daily bills of hourly series.

The rules are :class:`energy.tariff.Tariff`'s. This module imports numpy, so services that must
stay small (ingest_svc) use :mod:`energy.tariff` and :mod:`energy.settlement` only; pandas is
imported inside :func:`daily_bill` and :func:`daily_peaks_kw` (training, backtests and tests),
not by the serving forecaster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from energy.localtime import LOCAL_TZ
from energy.tariff import Tariff, capacity_basis_kw
from energy.units import KWH_PER_MWH

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["capacity_eur_month", "daily_bill", "daily_peaks_kw", "energy_cost_eur", "retail_eur_kwh"]

FloatArray = npt.NDArray[np.float64]
ArrayLike = npt.ArrayLike


def retail_eur_kwh(tariff: Tariff, spot_eur_mwh: ArrayLike) -> FloatArray:
    """Price of one imported kWh, VAT included: ``(spot/1000 + energy) * (1 + vat)``."""
    spot = np.asarray(spot_eur_mwh, dtype=float) / float(KWH_PER_MWH)
    price: FloatArray = (spot + tariff.grid_energy_eur_kwh) * (1.0 + tariff.vat_rate)
    return price


def energy_cost_eur(tariff: Tariff, kwh: ArrayLike, spot_eur_mwh: ArrayLike) -> FloatArray:
    """Variable cost of hours with net consumption ``kwh`` (vectorised); exports earn spot."""
    kwh_a = np.asarray(kwh, dtype=float)
    spot = np.asarray(spot_eur_mwh, dtype=float) / float(KWH_PER_MWH)
    imported = np.maximum(kwh_a, 0.0) * (spot + tariff.grid_energy_eur_kwh) * (1.0 + tariff.vat_rate)
    exported = np.minimum(kwh_a, 0.0) * spot
    cost: FloatArray = imported + exported
    return cost


def capacity_eur_month(tariff: Tariff, basis_kw: ArrayLike) -> FloatArray:
    """Vectorised :meth:`Tariff.capacity_eur_month` (for batch predictions)."""
    bounds = np.array([s.up_to_kw for s in tariff.capacity_steps])
    amounts = np.array([s.eur_per_month for s in tariff.capacity_steps]) * (1.0 + tariff.vat_rate)
    idx = np.minimum(np.searchsorted(bounds, np.asarray(basis_kw, float), side="left"), len(bounds) - 1)
    result: FloatArray = amounts[idx]
    return result


def daily_peaks_kw(hourly_kw: pd.Series, tz: str = LOCAL_TZ) -> pd.Series:
    """Highest hourly mean power per local day; the index is the local date."""
    local = hourly_kw.tz_convert(tz)
    return local.groupby(local.index.date).max()


def daily_bill(
    hourly_kwh: pd.Series, spot_eur_mwh: pd.Series, tariff: Tariff, tz: str = LOCAL_TZ
) -> pd.DataFrame:
    """Per local day: hours, kWh, energy cost, standing charge, capacity share, total (EUR).

    ``hourly_kwh`` and ``spot_eur_mwh`` share an hourly UTC index. Days are local days, so the
    spring DST day has 23 hours and the autumn one 25. The capacity charge of a month (from
    that month's three highest daily peaks; for an hour, kWh equals mean kW) is spread evenly
    over the days of the month.
    """
    import pandas as pd

    spot = spot_eur_mwh.reindex(hourly_kwh.index)
    cost = pd.Series(energy_cost_eur(tariff, hourly_kwh.to_numpy(), spot.to_numpy()), index=hourly_kwh.index)
    local_index = hourly_kwh.index.tz_convert(tz)
    dates = pd.Index(local_index.date, name="date")
    frame = pd.DataFrame(
        {"kwh": hourly_kwh.to_numpy(), "energy_eur": cost.to_numpy(), "hours": 1}, index=dates
    )
    days = frame.groupby(level=0).sum()
    peaks = pd.Series(hourly_kwh.to_numpy(), index=dates).groupby(level=0).max()
    months = pd.PeriodIndex([pd.Period(d, "M") for d in days.index])
    capacity_share = []
    for month in months:
        month_peaks = peaks[[pd.Period(d, "M") == month for d in peaks.index]]
        monthly = tariff.capacity_eur_month(capacity_basis_kw(month_peaks.to_numpy()))
        capacity_share.append(monthly / month.days_in_month)
    days["standing_eur"] = tariff.standing_eur_day()
    days["capacity_eur"] = capacity_share
    days["total_eur"] = days["energy_eur"] + days["standing_eur"] + days["capacity_eur"]
    days["hours"] = days["hours"].astype(int)
    return days
