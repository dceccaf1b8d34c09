"""LEAR: its published construction checked by hand on toy series, and its fit on a toy market."""

from __future__ import annotations

import numpy as np
import pytest

from predict_svc.lear import (
    LearConfig,
    LearModel,
    _Invariant,
    ensemble_mean,
    lear_design,
    lear_ensemble_forecasts,
    lear_forecasts,
)
from predict_svc.protocols import HOURS, DayPanel, naive_day_ahead


def _panel(n: int, price: np.ndarray | None = None, res: np.ndarray | None = None) -> DayPanel:
    days = np.datetime64("2024-01-01") + np.arange(n).astype("timedelta64[D]")  # a Monday
    d = np.arange(n)[:, None]
    h = np.arange(HOURS)[None, :]
    p = price if price is not None else 100.0 * d + h  # price of day d, hour h = 100 d + h
    load = 1000.0 * d + h
    return DayPanel(
        days, p.astype(float), load.astype(float), (res if res is not None else 10.0 * d + h).astype(float)
    )


def test_design_row_is_the_paper_inputs_by_hand() -> None:
    panel = _panel(12)
    X, names = lear_design(panel, exog_lags=(0, 1, 7))
    assert X.shape == (12, 96 + 2 * 72 + 7) == (12, len(names))
    row = dict(zip(names, X[9], strict=True))  # day 9 = 2024-01-10, a Wednesday
    assert row["price_d-1_h0"] == 800 and row["price_d-1_h23"] == 823
    assert row["price_d-2_h5"] == 705 and row["price_d-3_h5"] == 605 and row["price_d-7_h5"] == 205
    assert row["load_d0_h3"] == 9003 and row["load_d-1_h3"] == 8003 and row["load_d-7_h3"] == 2003
    assert row["res_d0_h0"] == 90 and row["res_d-1_h0"] == 80 and row["res_d-7_h0"] == 20
    assert [row[f"dow_{k}"] for k in range(7)] == [0, 0, 1, 0, 0, 0, 0]
    # epftoolbox's code uses D-2 as the third exogenous lag (the default here)
    X2, names2 = lear_design(panel)
    assert dict(zip(names2, X2[9], strict=True))["load_d-2_h3"] == 7003
    # lags before the panel are missing, never zero
    assert np.isnan(dict(zip(names, X[6], strict=True))["price_d-7_h0"])


def test_invariant_scaler_is_asinh_of_median_and_mad() -> None:
    data = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
    scaler = _Invariant(data)
    assert scaler.median[0] == 3.0
    assert scaler.mad[0] == pytest.approx(1.0 / 0.6744897501960817)  # median |x - 3| = 1
    assert scaler.transform(np.array([[3.0 + scaler.mad[0]]]))[0, 0] == pytest.approx(np.arcsinh(1.0))
    np.testing.assert_allclose(scaler.inverse(scaler.transform(data)), data)


def test_zero_series_is_dropped_and_a_weekly_market_is_learnt() -> None:
    rng = np.random.default_rng(0)
    n = 400
    week = 40 + 15 * rng.random((7, HOURS))  # a fixed weekly profile plus small noise
    price = week[np.arange(n) % 7] + rng.normal(0, 0.3, (n, HOURS))
    panel = _panel(n, price=price, res=np.zeros((n, HOURS)))
    X, names = lear_design(panel)
    rows = np.arange(7, 380)
    model = LearModel(X[rows].copy(), panel.price[rows], names, LearConfig())
    assert not any(name.startswith("res_") for name in model.names)  # zero throughout: dropped
    assert any(name.startswith("load_") for name in model.names)
    forecast = model.predict(X[380:390])
    truth = week[np.arange(380, 390) % 7]
    assert np.mean(np.abs(forecast - truth)) < 1.0  # noise sd 0.3; the naive D-1 is off by ~5
    assert np.mean(np.abs(naive_day_ahead(panel)[380:390] - truth)) > 2.0


def test_forecasts_use_only_the_calibration_window() -> None:
    rng = np.random.default_rng(1)
    n = 330
    price = 50 + rng.normal(0, 5, (n, HOURS)).cumsum(axis=0) / 5
    panel = _panel(n, price=price)
    config = LearConfig(calibration_days=300)
    base = lear_forecasts(panel, 320, 325, "weekly", config)
    assert base.shape == (6, HOURS) and np.isfinite(base).all()
    changed = price.copy()
    changed[:20] += 1000.0  # before the 300-day window of every forecast
    changed[326:] -= 1000.0  # after the last forecast day
    again = lear_forecasts(_panel(n, price=changed), 320, 325, "weekly", config)
    np.testing.assert_array_equal(base, again)


def test_ensemble_mean_averages_its_members_hour_by_hour() -> None:
    a = np.full((2, HOURS), 10.0)
    b = np.full((2, HOURS), 20.0)
    c = np.full((2, HOURS), 60.0)
    c[1, 3] = np.nan  # a member without that hour: the others' mean
    out = ensemble_mean({56: a, 84: b, 1456: c})
    assert out[0, 0] == pytest.approx(30.0) and out[1, 3] == pytest.approx(15.0)
    assert np.isnan(ensemble_mean({56: np.full((1, HOURS), np.nan)})).all()


def test_ensemble_members_are_the_single_window_LEARs_and_short_windows_fit() -> None:
    """Each member is exactly the LEAR of its window; a 56-day window (49 fitted days, fewer than
    the 247 inputs) still fits and learns a weekly market."""
    rng = np.random.default_rng(2)
    n = 260
    week = 40 + 15 * rng.random((7, HOURS))
    price = week[np.arange(n) % 7] + rng.normal(0, 0.3, (n, HOURS))
    panel = _panel(n, price=price)
    members = lear_ensemble_forecasts(panel, 250, 255, (56, 200), "weekly")
    assert set(members) == {56, 200}
    for w, forecast in members.items():
        np.testing.assert_array_equal(forecast, lear_forecasts(panel, 250, 255, "weekly", LearConfig(w)))
    truth = week[np.arange(250, 256) % 7]
    assert np.mean(np.abs(members[56] - truth)) < 2.0
    assert np.mean(np.abs(price[249:255] - truth)) > 3.0  # yesterday's prices are off by ~5
    np.testing.assert_allclose(ensemble_mean(members), (members[56] + members[200]) / 2)
