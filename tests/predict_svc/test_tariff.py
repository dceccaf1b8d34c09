"""Tariff arithmetic against hand-worked examples (all amounts EUR, ex-VAT inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energy.tariff import CapacityStep, Tariff, capacity_basis_kw, daily_bill, daily_peaks_kw
from predict_svc.config import PredictConfig, parse_capacity_steps

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


def test_retail_price_worked_example() -> None:
    # Spot 80 EUR/MWh = 0.080 EUR/kWh; + grid energy 0.040 = 0.120; VAT 25% = 0.030; total 0.150.
    parts = TARIFF.breakdown(80.0)
    assert parts["spot_eur_kwh"] == pytest.approx(0.080)
    assert parts["vat_eur_kwh"] == pytest.approx(0.030)
    assert parts["total_eur_kwh"] == pytest.approx(0.150)
    assert TARIFF.retail_eur_kwh(80.0) == pytest.approx(0.150)
    # Negative spot -20 EUR/MWh: (-0.020 + 0.040) * 1.25 = 0.025 EUR/kWh.
    assert TARIFF.retail_eur_kwh(-20.0) == pytest.approx(0.025)


def test_energy_cost_imports_and_exports() -> None:
    # 2.5 kWh at spot 80: 2.5 * 0.150 = 0.375 EUR. Exporting 1 kWh at 80 earns spot only: -0.080.
    costs = TARIFF.energy_cost_eur(np.array([2.5, -1.0]), np.array([80.0, 80.0]))
    np.testing.assert_allclose(costs, [0.375, -0.080])


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
    np.testing.assert_allclose(
        TARIFF.capacity_eur_month_vec(np.array([0.5, 5.0, 6.0, 99.0])), [12.5, 20.0, 32.5, 50.0]
    )


def test_daily_bill_follows_local_days_including_dst() -> None:
    # 2024-03-30 .. 2024-04-01 local; 2024-03-31 is the 23-hour spring day in Oslo.
    start = pd.Timestamp("2024-03-30 00:00", tz="Europe/Oslo").tz_convert("UTC")
    end = pd.Timestamp("2024-04-01 23:00", tz="Europe/Oslo").tz_convert("UTC")
    index = pd.date_range(start, end, freq="h")
    kwh = pd.Series(1.0, index=index)
    kwh.iloc[5] = 3.0  # the March peak (3 kW on 30 March)
    spot = pd.Series(80.0, index=index)
    bill = daily_bill(kwh, spot, TARIFF)
    assert list(bill["hours"]) == [24, 23, 24]
    first = bill.iloc[0]
    # 30 March: 23 h * 1 kWh + 3 kWh = 26 kWh at 0.150 = 3.90; standing 0.20 * 1.25 = 0.25;
    # March basis = mean(3, 1, ...) of top three daily peaks (3, 1) = 2.0 kW -> step "0-2", 12.50/31.
    assert first["kwh"] == pytest.approx(26.0)
    assert first["energy_eur"] == pytest.approx(3.90)
    assert first["standing_eur"] == pytest.approx(0.25)
    assert first["capacity_eur"] == pytest.approx(12.5 / 31)
    assert first["total_eur"] == pytest.approx(3.90 + 0.25 + 12.5 / 31)
    second = bill.iloc[1]
    assert second["energy_eur"] == pytest.approx(23 * 0.150)
    april = bill.iloc[2]
    assert april["capacity_eur"] == pytest.approx(12.5 / 30)
    peaks = daily_peaks_kw(kwh)
    assert list(peaks.to_numpy()) == [3.0, 1.0, 1.0]


def test_tariff_validation_and_config_parsing() -> None:
    with pytest.raises(ValueError):
        Tariff(capacity_steps=(CapacityStep(5, 1), CapacityStep(2, 2)))
    with pytest.raises(ValueError):
        parse_capacity_steps("2-10")
    steps = parse_capacity_steps("2:10, 5:16,inf:40")
    assert steps[-1].up_to_kw == float("inf") and steps[1].eur_per_month == 16
    default = PredictConfig().tariff()
    assert default.vat_rate == 0.25 and default.capacity_steps[0].up_to_kw == 2
