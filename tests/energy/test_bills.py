"""Vectorised bills (energy.bills) against hand-worked examples (EUR, ex-VAT inputs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from energy.bills import capacity_eur_month, daily_bill, daily_peaks_kw, energy_cost_eur, retail_eur_kwh
from tests.energy.worked_tariff import TARIFF


def test_retail_price_worked_example() -> None:
    # (0.080 + 0.040) * 1.25 = 0.150 EUR/kWh; negative spot -20: (-0.020 + 0.040) * 1.25 = 0.025.
    assert retail_eur_kwh(TARIFF, 80.0) == pytest.approx(0.150)
    assert retail_eur_kwh(TARIFF, -20.0) == pytest.approx(0.025)


def test_energy_cost_imports_and_exports() -> None:
    # 2.5 kWh at spot 80: 2.5 * 0.150 = 0.375 EUR. Exporting 1 kWh at 80 earns spot only: -0.080.
    costs = energy_cost_eur(TARIFF, np.array([2.5, -1.0]), np.array([80.0, 80.0]))
    np.testing.assert_allclose(costs, [0.375, -0.080])


def test_vectorised_capacity_charge_matches_the_steps() -> None:
    basis = np.array([0.5, 5.0, 6.0, 99.0])
    np.testing.assert_allclose(capacity_eur_month(TARIFF, basis), [12.5, 20.0, 32.5, 50.0])
    assert list(capacity_eur_month(TARIFF, basis)) == [TARIFF.capacity_eur_month(b) for b in basis]


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
