"""Integer settlement of one billed hour, in micro-EUR (what ingest_svc appends to the ledger).

The integer twin of :func:`energy.bills.energy_cost_eur` plus the per-hour shares of the standing
and capacity charges used by :func:`energy.bills.daily_bill`; float and integer results agree to
within rounding (tests/energy/test_settlement.py). Plain Python: no numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

from energy.tariff import Tariff
from energy.units import WH_PER_KWH, div_round, eur_mwh_to_micro_eur_per_kwh, micro

__all__ = ["HourSettlement", "settle_hour_micro"]


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


def settle_hour_micro(
    tariff: Tariff,
    metered_wh: int,
    spot_eur_mwh: float,
    capacity_basis: float,
    hours_in_day: int,
    days_in_month: int,
) -> HourSettlement:
    """Integer settlement of one hour with net consumption ``metered_wh`` (negative = export).

    Imports pay spot + grid energy part + VAT, exports are credited at spot only. The hour also
    carries 1/``hours_in_day`` of the daily standing charge and 1/(``days_in_month`` x
    ``hours_in_day``) of the monthly capacity step for ``capacity_basis`` kW; VAT applies to
    those too. ``hours_in_day`` and ``days_in_month``: :func:`energy.localtime.local_hour_shares`.
    """
    if hours_in_day < 1 or days_in_month < 1:
        raise ValueError("hours_in_day and days_in_month must be positive")
    price = eur_mwh_to_micro_eur_per_kwh(spot_eur_mwh)
    imported = max(metered_wh, 0)
    spot_cost = div_round(metered_wh * price, WH_PER_KWH)  # Wh x micro-EUR/kWh / 1000
    grid = div_round(imported * micro(tariff.grid_energy_eur_kwh), WH_PER_KWH)
    step = tariff.capacity_step(capacity_basis)
    capacity = div_round(micro(step.eur_per_month), days_in_month * hours_in_day)
    standing = div_round(micro(tariff.standing_charge_eur_day), hours_in_day)
    taxable = (spot_cost + grid if metered_wh > 0 else 0) + capacity + standing
    vat = div_round(taxable * micro(tariff.vat_rate), 1_000_000)
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
