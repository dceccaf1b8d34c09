"""The backtest's after-auction information set (``--exogenous substituted``): the k = 0 day's
load and wind/solar forecasts are the day before's, for the LightGBM and the LEAR."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.backtest import main
from predict_svc.dayahead import DayAheadParams, da_design, fit_day_ahead
from predict_svc.dayahead_backtest import after_auction_panel, forecast_days
from predict_svc.lear import LearConfig
from predict_svc.market import load_market
from predict_svc.protocols import DayPanel

FAST = DayAheadParams(rounds=20, num_leaves=15, calibration_days=60)
DAY = "2024-02-07"


@pytest.fixture(scope="module")
def panel(entsoe_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> DayPanel:
    out = tmp_path_factory.mktemp("slice")
    for path in entsoe_dir.glob("*_NO_1.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        day = frame["datetime"].str.slice(0, 10)
        frame[(day >= "2022-08-01") & (day <= "2024-02-12")].to_csv(out / path.name, index=False)
    return DayPanel.from_frame(load_market(out, "NO1"))


def _forecast(panel: DayPanel, exogenous: str) -> dict[str, np.ndarray]:
    d = panel.index_of(DAY)
    return forecast_days(
        panel,
        None,
        d - 1,
        d,
        d,
        recalibrate="never",
        params=FAST,
        lear_config=LearConfig(calibration_days=400),
        lear_windows=(400,),
        exogenous=exogenous,
    )


def test_after_auction_panel_feeds_the_day_befores_forecasts(panel: DayPanel) -> None:
    d = panel.index_of(DAY)
    sub = after_auction_panel(panel, d)
    assert not np.array_equal(panel.load[d], panel.load[d - 1])
    np.testing.assert_array_equal(sub.load[d], panel.load[d - 1])
    np.testing.assert_array_equal(sub.res[d], panel.res[d - 1])
    for attr in ("load", "res", "price"):  # every other row untouched
        other = np.arange(len(panel)) != d
        np.testing.assert_array_equal(getattr(sub, attr)[other], getattr(panel, attr)[other])
    no_res = after_auction_panel(panel, d, use_res=False)
    np.testing.assert_array_equal(no_res.res[d], panel.res[d])


def test_substituted_forecast_ignores_the_real_forecasts_of_d(panel: DayPanel) -> None:
    d = panel.index_of(DAY)
    load, res = panel.load.copy(), panel.res.copy()
    load[d] = load[d] * 1.5 + 500
    res[d] = res[d] * 0.2
    changed = replace(panel, load=load, res=res)
    names = ("lear", "p10", "p50", "p90", "p50_model")
    sub0, sub1 = _forecast(panel, "substituted"), _forecast(changed, "substituted")
    for name in names:
        assert np.isfinite(sub0[name]).all(), name
        np.testing.assert_array_equal(sub0[name], sub1[name], err_msg=name)
    real0, real1 = _forecast(panel, "real"), _forecast(changed, "real")
    for name in ("lear", "p50_model"):  # the real mode reads them (a 20-round LightGBM may not)
        assert not np.array_equal(real0[name], real1[name]), name
        assert not np.array_equal(real0[name], sub0[name]), name


def test_after_auction_design_is_the_served_substitution(panel: DayPanel) -> None:
    """``da_design(after_auction=True)`` builds, for every issue at once, the rows the service
    builds one issue at a time after the auction (its substitution on the panel)."""
    d = panel.index_of(DAY)
    horizons = tuple(range(7))
    issue = np.array([d - 1])
    served = da_design(after_auction_panel(panel, d), issue, horizons)
    at_once = da_design(panel, np.arange(7, len(panel) - 1), horizons, after_auction=True)
    rows = at_once.issue_row == d - 1
    np.testing.assert_array_equal(at_once.X[rows], served.X)
    real = da_design(panel, issue, horizons)
    assert not np.array_equal(real.X, served.X, equal_nan=True)  # the substitution is not a no-op


def _load_driven_panel(days: int = 900) -> DayPanel:
    """A market whose price follows the day's load forecast, which jumps from day to day: the day
    before's forecast (after the auction) says little about the day's price."""
    rng = np.random.default_rng(3)
    level = 4000 + 800 * rng.standard_normal(days)
    shape = 1 + 0.2 * np.sin(np.arange(24) / 24 * 2 * np.pi)
    load = level[:, None] * shape[None, :]
    price = 0.02 * load + 3 * rng.standard_normal((days, 24))
    first = np.datetime64("2021-01-01")
    return DayPanel(first + np.arange(days).astype("timedelta64[D]"), price, load, np.full_like(load, 500.0))


def test_band_after_the_auction_is_calibrated_on_after_auction_rows() -> None:
    """The served band after the auction is widened by offsets measured on held-out rows with the
    substituted inputs: it covers ~80% there, where the band calibrated on real inputs does not."""
    panel = _load_driven_panel()
    issues = np.arange(7, len(panel) - 1)
    design = da_design(panel, issues, (0,), use_res_forecast=False)
    after = da_design(panel, issues, (0,), use_res_forecast=False, after_auction=True)
    train = design.issue_row < 700
    test = (design.issue_row >= 700) & np.isfinite(design.y)
    model = fit_day_ahead(design.take(train), FAST, after_auction=after.take(train))
    assert model.after_offsets[0] > model.offsets[0]
    actual = np.sinh(after.y[test]) * after.s[test] + after.m[test]

    def coverage(after_auction: bool) -> float:
        lo, _mid, hi, _up = model.predict_all(after.take(test), after_auction=after_auction)
        return float(np.mean((actual >= lo) & (actual <= hi)))

    assert 0.72 <= coverage(True) <= 0.88
    assert coverage(False) < coverage(True) - 0.1
    # Before the auction (real inputs) the first offsets still serve.
    lo, _mid, hi, _up = model.predict_all(design.take(test))
    real_actual = np.sinh(design.y[test]) * design.s[test] + design.m[test]
    assert 0.72 <= float(np.mean((real_actual >= lo) & (real_actual <= hi))) <= 0.88


def test_cli_rejects_a_bad_exogenous_value(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--data-dir", "x", "--zone", "NO1", "--train-end", "2023-01-05"]
    base += ["--test-start", "2023-01-06", "--test-end", "2023-01-12"]
    with pytest.raises(SystemExit) as exc:
        main([*base, "--protocol", "day-ahead", "--exogenous", "forecast"])
    assert exc.value.code == 2
    assert "--exogenous: invalid choice: 'forecast'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main([*base, "--exogenous", "substituted"])  # one-step: no k = 0 day to substitute
    assert exc.value.code == 2
    assert "--exogenous substituted needs --protocol day-ahead or week-ahead" in capsys.readouterr().err
