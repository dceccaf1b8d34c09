"""The backtest's after-auction information set (``--exogenous substituted``): the k = 0 day's
load and wind/solar forecasts are the day before's, for the LightGBM and the LEAR."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.backtest import main
from predict_svc.dayahead import DayAheadParams
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
