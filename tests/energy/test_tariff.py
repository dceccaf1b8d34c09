"""Tariff arithmetic against hand-worked examples (all amounts EUR, ex-VAT inputs)."""

from __future__ import annotations

import pytest

from energy.tariff import CapacityStep, Tariff, capacity_basis_kw
from tests.energy.worked_tariff import TARIFF


def test_breakdown_worked_example() -> None:
    # Spot 80 EUR/MWh = 0.080 EUR/kWh; + grid energy 0.040 = 0.120; VAT 25% = 0.030; total 0.150.
    parts = TARIFF.breakdown(80.0)
    assert parts["spot_eur_kwh"] == pytest.approx(0.080)
    assert parts["vat_eur_kwh"] == pytest.approx(0.030)
    assert parts["total_eur_kwh"] == pytest.approx(0.150)


def test_capacity_step_from_three_highest_daily_peaks() -> None:
    # Peaks 3.0, 7.5, 4.0, 6.5, 1.0 kW: top three 7.5, 6.5, 4.0 -> mean 6.0 kW -> step "5-10 kW",
    # 26 EUR/month ex VAT -> 32.50 incl. VAT.
    basis = capacity_basis_kw([3.0, 7.5, 4.0, 6.5, 1.0])
    assert basis == pytest.approx(6.0)
    assert TARIFF.capacity_eur_month(basis) == pytest.approx(32.5)
    # Boundaries: exactly 5 kW is still the 2-5 step; two days so far use their mean; none -> 0.
    assert TARIFF.capacity_eur_month(5.0) == pytest.approx(20.0)
    assert capacity_basis_kw([4.0, 8.0]) == pytest.approx(6.0)
    assert capacity_basis_kw([]) == 0.0


def test_tariff_validation() -> None:
    with pytest.raises(ValueError):
        Tariff(capacity_steps=(CapacityStep(5, 1), CapacityStep(2, 2)))
    with pytest.raises(ValueError):
        Tariff(capacity_steps=())
    with pytest.raises(ValueError):
        Tariff(vat_rate=-0.1)
