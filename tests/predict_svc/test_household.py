"""Household consumption forecasts and cheapest hours (exceedance: tests/predict_svc/test_quantiles.py)."""

from __future__ import annotations

import numpy as np
import pytest

from predict_svc.household import HouseholdBatch, cheapest_hours, forecast_consumption_kwh


def _batch() -> HouseholdBatch:
    return HouseholdBatch.from_rows(
        recent=[[1.0] * 23 + [2.0], [], [0.5] * 24, [-1.0] * 24],
        residents=[2, 4, 1, 3],
        heating=["heat_pump", "electric", "district", ""],
        has_ev=[False, True, False, False],
        has_solar=[False, False, False, True],
    )


def test_blend_of_persistence_yesterday_and_mean() -> None:
    kwh = forecast_consumption_kwh(_batch(), 5.0, 5.0, 18)
    # Household 0: 0.5 * 2.0 + 0.3 * 1.0 + 0.2 * mean(23 * 1 + 2)/24 = 1.0 + 0.3 + 0.2083 = 1.5083
    assert kwh[0] == pytest.approx(1.0 + 0.3 + 0.2 * 25 / 24)
    assert kwh[2] == pytest.approx(0.5)  # flat history, non-electric heating: persistence
    assert kwh[3] == pytest.approx(-1.0)  # solar household exporting stays negative
    assert kwh[1] > 0  # no readings: profile prior


def test_colder_next_hour_raises_electric_heating_only() -> None:
    base = forecast_consumption_kwh(_batch(), 5.0, 5.0, 18)
    colder = forecast_consumption_kwh(_batch(), 5.0, 0.0, 18)
    # Heat pump: 0.08 kW per degree * 5 degrees = +0.4 kWh; district heating unchanged.
    assert colder[0] - base[0] == pytest.approx(0.4)
    assert colder[2] == pytest.approx(base[2])
    assert colder[1] > base[1]  # prior also reacts to temperature for electric heating


def test_vectorised_over_many_households_and_horizons() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    batch = HouseholdBatch(
        recent_kw=rng.uniform(0.2, 3.0, (n, 24)),
        residents=rng.integers(1, 5, n).astype(float),
        heat_coeff=np.full(n, 0.08),
        has_ev=np.zeros(n, bool),
        has_solar=np.zeros(n, bool),
    )
    kwh = forecast_consumption_kwh(batch, np.full(n, 3.0), np.full(n, 2.0), np.full(n, 7))
    assert kwh.shape == (n,) and np.isfinite(kwh).all() and (kwh >= 0).all()
    later = forecast_consumption_kwh(batch, 3.0, 2.0, 7, horizon=12)
    assert later.shape == (n,)
    with pytest.raises(ValueError):
        forecast_consumption_kwh(batch, 3.0, 2.0, 7, horizon=25)


def test_cheapest_hours_order() -> None:
    prices = np.array([50.0, 20.0, 30.0, 20.0, -5.0])
    assert list(cheapest_hours(prices, 3)) == [4, 1, 3]
    assert list(cheapest_hours(prices, 0)) == []
