"""Retail electricity price and household bills, Norwegian style, in EUR.

Currency and units, system-wide: **EUR and kWh**. Spot prices arrive in EUR/MWh (ENTSO-E) and are
divided by 1000; everything a household sees is EUR/kWh, EUR/day or EUR/month. No NOK anywhere.

A Norwegian household bill has four parts, all configurable in :class:`Tariff` (amounts are
*excluding* VAT; VAT is applied to every part, as on a real bill):

* spot: the day-ahead price of each hour (EUR/kWh);
* grid energy part: a fixed EUR/kWh on every kWh taken from the grid;
* grid capacity part ("kapasitetsledd"): a monthly amount chosen by the step that holds the
  *mean of the three highest daily peaks* of the month, where a day's peak is its highest hourly
  mean power (kW) and days are local days (Europe/Oslo);
* a fixed standing charge per day.

Exported energy (negative net consumption) is credited at the spot price only, without grid
energy part or VAT, the way Norwegian "plusskunde" settlement works.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# numpy and pandas are imported inside the vectorised functions that need them, not here:
# ingest_svc imports this module for the per-hour settlement only (plain floats and ints), and
# the imports cost a process ~16 MB (numpy) and ~75 MB (pandas + pyarrow) of resident memory
# (BENCHMARKS.md: memory per service, target < 150 MB).

__all__ = [
    "DEFAULT_CAPACITY_STEPS",
    "LOCAL_TZ",
    "CapacityStep",
    "HourSettlement",
    "Tariff",
    "capacity_basis_kw",
    "daily_bill",
    "daily_peaks_kw",
    "local_hour_shares",
    "settle_hour_micro",
    "spot_micro_eur_per_kwh",
]

LOCAL_TZ = "Europe/Oslo"


@dataclass(frozen=True)
class CapacityStep:
    """Capacity step: applies when the monthly basis is at most ``up_to_kw``."""

    up_to_kw: float
    eur_per_month: float


# Shape of a typical Norwegian grid company's steps (0-2, 2-5, 5-10, ... kW), ex VAT, in EUR.
DEFAULT_CAPACITY_STEPS: tuple[CapacityStep, ...] = (
    CapacityStep(2.0, 10.0),
    CapacityStep(5.0, 16.0),
    CapacityStep(10.0, 26.0),
    CapacityStep(15.0, 37.0),
    CapacityStep(20.0, 48.0),
    CapacityStep(25.0, 59.0),
    CapacityStep(50.0, 110.0),
    CapacityStep(75.0, 165.0),
    CapacityStep(100.0, 220.0),
    CapacityStep(math.inf, 420.0),
)


@dataclass(frozen=True)
class Tariff:
    """Grid tariff and taxes. Defaults are plausible Norwegian levels converted to EUR."""

    grid_energy_eur_kwh: float = 0.035
    standing_charge_eur_day: float = 0.12
    vat_rate: float = 0.25
    capacity_steps: tuple[CapacityStep, ...] = field(default=DEFAULT_CAPACITY_STEPS)

    def __post_init__(self) -> None:
        if not self.capacity_steps:
            raise ValueError("a tariff needs at least one capacity step")
        bounds = [s.up_to_kw for s in self.capacity_steps]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("capacity steps must have strictly increasing up_to_kw")
        if self.vat_rate < 0:
            raise ValueError("vat_rate must be >= 0")

    # -- per kWh ---------------------------------------------------------------------------
    def retail_eur_kwh(self, spot_eur_mwh: np.ndarray | float) -> np.ndarray:
        """Price of one imported kWh, VAT included: ``(spot/1000 + energy) * (1 + vat)``."""
        import numpy as np

        spot = np.asarray(spot_eur_mwh, dtype=float) / 1000.0
        return (spot + self.grid_energy_eur_kwh) * (1.0 + self.vat_rate)

    def breakdown(self, spot_eur_mwh: float) -> dict[str, float]:
        """Per-kWh parts (EUR/kWh): spot, grid energy, VAT on both, total."""
        spot = spot_eur_mwh / 1000.0
        vat = (spot + self.grid_energy_eur_kwh) * self.vat_rate
        return {
            "spot_eur_kwh": spot,
            "grid_energy_eur_kwh": self.grid_energy_eur_kwh,
            "vat_eur_kwh": vat,
            "total_eur_kwh": spot + self.grid_energy_eur_kwh + vat,
        }

    def energy_cost_eur(self, kwh: np.ndarray | float, spot_eur_mwh: np.ndarray | float) -> np.ndarray:
        """Variable cost of hours with net consumption ``kwh`` (vectorised); exports earn spot."""
        import numpy as np

        kwh_a = np.asarray(kwh, dtype=float)
        spot = np.asarray(spot_eur_mwh, dtype=float) / 1000.0
        imported = np.maximum(kwh_a, 0.0) * (spot + self.grid_energy_eur_kwh) * (1.0 + self.vat_rate)
        exported = np.minimum(kwh_a, 0.0) * spot
        return imported + exported

    # -- per month / day -------------------------------------------------------------------
    def capacity_eur_month(self, basis_kw: float) -> float:
        """Monthly capacity charge incl. VAT for a basis (mean of the three top daily peaks)."""
        for step in self.capacity_steps:
            if basis_kw <= step.up_to_kw:
                return step.eur_per_month * (1.0 + self.vat_rate)
        return self.capacity_steps[-1].eur_per_month * (1.0 + self.vat_rate)

    def capacity_eur_month_vec(self, basis_kw: np.ndarray) -> np.ndarray:
        """Vectorised :meth:`capacity_eur_month` (for batch predictions)."""
        import numpy as np

        bounds = np.array([s.up_to_kw for s in self.capacity_steps])
        amounts = np.array([s.eur_per_month for s in self.capacity_steps]) * (1.0 + self.vat_rate)
        idx = np.minimum(np.searchsorted(bounds, np.asarray(basis_kw, float), side="left"), len(bounds) - 1)
        return amounts[idx]

    def standing_eur_day(self) -> float:
        """Daily standing charge incl. VAT."""
        return self.standing_charge_eur_day * (1.0 + self.vat_rate)


def capacity_basis_kw(daily_peaks: Sequence[float] | np.ndarray) -> float:
    """Mean of the three highest daily peaks (fewer days so far: mean of those; none: 0)."""
    peaks = sorted(float(p) for p in daily_peaks if math.isfinite(p))
    if not peaks:
        return 0.0
    top = peaks[-3:]
    return sum(top) / len(top)  # left to right, as numpy summed it: same bits as before


def daily_peaks_kw(hourly_kw: pd.Series) -> pd.Series:
    """Highest hourly mean power per local (Europe/Oslo) day; the index is the local date."""
    local = hourly_kw.tz_convert(LOCAL_TZ)
    return local.groupby(local.index.date).max()


def daily_bill(hourly_kwh: pd.Series, spot_eur_mwh: pd.Series, tariff: Tariff) -> pd.DataFrame:
    """Per local day: hours, kWh, energy cost, standing charge, capacity share, total (EUR).

    ``hourly_kwh`` and ``spot_eur_mwh`` share an hourly UTC index. Days follow Europe/Oslo, so
    the spring DST day has 23 hours and the autumn one 25. The capacity charge of a month (from
    that month's three highest daily peaks; for an hour, kWh equals mean kW) is spread evenly
    over the days of the month.
    """
    import pandas as pd

    spot = spot_eur_mwh.reindex(hourly_kwh.index)
    cost = pd.Series(tariff.energy_cost_eur(hourly_kwh.to_numpy(), spot.to_numpy()), index=hourly_kwh.index)
    local_index = hourly_kwh.index.tz_convert(LOCAL_TZ)
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


# -- fixed-point settlement (added for ingest_svc's ledger records) --------------------------
# The ledger stores money as integer micro-EUR so every implementation hashes the same bytes.
# These functions are the integer twin of :meth:`Tariff.energy_cost_eur` plus the per-hour shares
# of the standing and capacity charges used by :func:`daily_bill`; the float and integer results
# agree to within rounding (tests/predict_svc/test_tariff_settlement.py).


@dataclass(frozen=True)
class HourSettlement:
    """One billed hour in micro-EUR, ex-VAT parts plus VAT; ``total`` is their exact sum."""

    metered_wh: int
    spot_price_micro_eur_per_kwh: int
    spot_cost_micro_eur: int
    grid_energy_cost_micro_eur: int
    capacity_cost_micro_eur: int
    standing_charge_micro_eur: int
    vat_micro_eur: int
    total_cost_micro_eur: int


def _micro(value: float) -> int:
    """A float amount as integer millionths, rounded half away from zero (decimal, not binary)."""
    from decimal import ROUND_HALF_UP, Decimal

    return int(Decimal(repr(float(value))).scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _div_round(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero (Python's // floors, round() is banker's)."""
    q, r = divmod(abs(numerator), denominator)
    q += 2 * r >= denominator
    return q if numerator >= 0 else -q


def spot_micro_eur_per_kwh(spot_eur_mwh: float) -> int:
    """EUR/MWh (as published) -> micro-EUR per kWh: 1 EUR/MWh = 1000 micro-EUR/kWh."""
    return _micro(spot_eur_mwh / 1000.0)


def local_hour_shares(hour_start: datetime, tz: str = LOCAL_TZ) -> tuple[int, int]:
    """(hours in the local day holding ``hour_start``, days in its local month): 23/24/25 and 28-31.

    Standing charges are per local day and capacity charges per local month (as in
    :func:`daily_bill`); an hour carries ``1/hours`` of its day's share.
    """
    if hour_start.tzinfo is None:
        raise ValueError("hour_start must be time-zone aware")
    zone = ZoneInfo(tz)
    day = hour_start.astimezone(zone).date()
    # Aware datetimes in one zone subtract as wall times: convert both midnights to UTC first.
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    after = day + timedelta(days=1)
    next_midnight = datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(ZoneInfo("UTC"))
    hours = round((next_midnight - midnight).total_seconds() / 3600)
    first_next_month = datetime(day.year + day.month // 12, day.month % 12 + 1, 1)
    days_in_month = (first_next_month - datetime(day.year, day.month, 1)).days
    return hours, days_in_month


def settle_hour_micro(
    tariff: Tariff,
    metered_wh: int,
    spot_eur_mwh: float,
    capacity_basis: float,
    hours_in_day: int,
    days_in_month: int,
) -> HourSettlement:
    """Integer settlement of one hour with net consumption ``metered_wh`` (negative = export).

    Same rules as :meth:`Tariff.energy_cost_eur`: imports pay spot + grid energy part + VAT,
    exports are credited at spot only. The hour also carries 1/``hours_in_day`` of the daily
    standing charge and 1/(``days_in_month`` x ``hours_in_day``) of the monthly capacity step for
    ``capacity_basis`` kW; VAT applies to those too.
    """
    if hours_in_day < 1 or days_in_month < 1:
        raise ValueError("hours_in_day and days_in_month must be positive")
    price = spot_micro_eur_per_kwh(spot_eur_mwh)
    imported = max(metered_wh, 0)
    spot_cost = _div_round(metered_wh * price, 1000)  # Wh x micro-EUR/kWh / 1000
    grid = _div_round(imported * _micro(tariff.grid_energy_eur_kwh), 1000)
    step = next((s for s in tariff.capacity_steps if capacity_basis <= s.up_to_kw), tariff.capacity_steps[-1])
    capacity = _div_round(_micro(step.eur_per_month), days_in_month * hours_in_day)
    standing = _div_round(_micro(tariff.standing_charge_eur_day), hours_in_day)
    taxable = (spot_cost + grid if metered_wh > 0 else 0) + capacity + standing
    vat = _div_round(taxable * _micro(tariff.vat_rate), 1_000_000)
    return HourSettlement(
        metered_wh=metered_wh,
        spot_price_micro_eur_per_kwh=price,
        spot_cost_micro_eur=spot_cost,
        grid_energy_cost_micro_eur=grid,
        capacity_cost_micro_eur=capacity,
        standing_charge_micro_eur=standing,
        vat_micro_eur=vat,
        total_cost_micro_eur=spot_cost + grid + capacity + standing + vat,
    )
