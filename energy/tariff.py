"""Retail electricity price and household bills, Norwegian style, in EUR.

Currency and units, system-wide: **EUR and kWh** (:mod:`energy.units`). Spot prices arrive in
EUR/MWh (ENTSO-E); everything a household sees is EUR/kWh, EUR/day or EUR/month. No NOK anywhere.

A Norwegian household bill has four parts, all configurable in :class:`Tariff` (amounts are
*excluding* VAT; VAT is applied to every part, as on a real bill):

* spot: the day-ahead price of each hour (EUR/kWh);
* grid energy part: a fixed EUR/kWh on every kWh taken from the grid;
* grid capacity part ("kapasitetsledd"): a monthly amount chosen by the step that holds the
  *mean of the three highest daily peaks* of the month, where a day's peak is its highest hourly
  mean power (kW) and days are local days (:data:`energy.localtime.LOCAL_TZ`);
* a fixed standing charge per day.

Exported energy (negative net consumption) is credited at the spot price only, without grid
energy part or VAT, the way Norwegian "plusskunde" settlement works.

This module is plain Python (no numpy): ingest_svc settles with it and must stay small. The
vectorised bill arithmetic of the forecaster is :mod:`energy.bills`; the integer settlement of
one hour is :func:`energy.bill.period.price_hour`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from energy.units import eur_mwh_to_eur_kwh

__all__ = ["DEFAULT_CAPACITY_STEPS", "CapacityStep", "Tariff", "capacity_basis_kw"]


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

    def breakdown(self, spot_eur_mwh: float) -> dict[str, float]:
        """Per-kWh parts (EUR/kWh): spot, grid energy, VAT on both, total."""
        spot = eur_mwh_to_eur_kwh(spot_eur_mwh)
        vat = (spot + self.grid_energy_eur_kwh) * self.vat_rate
        return {
            "spot_eur_kwh": spot,
            "grid_energy_eur_kwh": self.grid_energy_eur_kwh,
            "vat_eur_kwh": vat,
            "total_eur_kwh": spot + self.grid_energy_eur_kwh + vat,
        }

    def capacity_step(self, basis_kw: float) -> CapacityStep:
        """The step holding ``basis_kw`` (the last one above every bound)."""
        return next((s for s in self.capacity_steps if basis_kw <= s.up_to_kw), self.capacity_steps[-1])

    def capacity_eur_month(self, basis_kw: float) -> float:
        """Monthly capacity charge incl. VAT for a basis (mean of the three top daily peaks)."""
        return self.capacity_step(basis_kw).eur_per_month * (1.0 + self.vat_rate)

    def standing_eur_day(self) -> float:
        """Daily standing charge incl. VAT."""
        return self.standing_charge_eur_day * (1.0 + self.vat_rate)


def capacity_basis_kw(daily_peaks: Iterable[float]) -> float:
    """Mean of the three highest daily peaks (fewer days so far: mean of those; none: 0)."""
    peaks = sorted(float(p) for p in daily_peaks if math.isfinite(p))
    if not peaks:
        return 0.0
    top = peaks[-3:]
    return sum(top) / len(top)  # left to right, as numpy summed it: same bits as before
