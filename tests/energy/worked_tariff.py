"""The tariff every hand-worked example in tests/energy is computed with (EUR, ex-VAT inputs)."""

from __future__ import annotations

from energy.tariff import CapacityStep, Tariff

TARIFF = Tariff(
    grid_energy_eur_kwh=0.04,
    standing_charge_eur_day=0.20,
    vat_rate=0.25,
    capacity_steps=(
        CapacityStep(2, 10),
        CapacityStep(5, 16),
        CapacityStep(10, 26),
        CapacityStep(float("inf"), 40),
    ),
)
