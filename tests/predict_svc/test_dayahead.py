"""Day-ahead protocol: no look-ahead (bit for bit), beats naive on a real slice, JSON contract."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.backtest import main
from predict_svc.dayahead import DayAheadParams
from predict_svc.dayahead_backtest import forecast_days, run_day_ahead
from predict_svc.fundamentals import FileFundamentals
from predict_svc.lear import LearConfig
from predict_svc.market import load_market
from predict_svc.protocols import DayPanel

FAST = DayAheadParams(rounds=25, num_leaves=15, calibration_days=60)
LEAR_SHORT = LearConfig(calibration_days=400)
DAY = "2024-02-07"  # the delivery day D; issue at 10:00 CET on 2024-02-06


def _slice_dir(entsoe_dir: Path, out: Path, first: str, last: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for path in entsoe_dir.glob("*_NO_1.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        day = frame["datetime"].str.slice(0, 10)
        frame[(day >= first) & (day <= last)].to_csv(out / path.name, index=False)
    return out


def _perturb_csv(src: Path, dst: Path, date_col: str, later_than: str, skip: tuple[str, ...] = ()) -> None:
    """Copy ``src`` changing every number in rows whose ``date_col`` (first 10 chars) is at or
    after ``later_than``."""
    with open(src, newline="") as handle:
        rows = list(csv.reader(handle))
    at = rows[0].index(date_col)
    for row in rows[1:]:
        if row[at][:10] >= later_than:
            for j, cell in enumerate(row):
                if j != at and rows[0][j] not in skip and cell.strip():
                    row[j] = repr(float(cell) * 3 + 17)
    with open(dst, "w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _perturbed_market(base: Path, out: Path) -> Path:
    """Everything that becomes known after 10:00 CET on D-1, changed: prices of D and later (the
    UTC stamps of D in fixed CET start at 23:00 on D-1, written +01:00/+02:00 in the files: the
    local date of D's first hour is D), load and wind/solar forecasts of D+1 and later."""
    out.mkdir(parents=True, exist_ok=True)
    nxt = str(np.datetime64(DAY) + np.timedelta64(1, "D"))
    for path in base.glob("*.csv"):
        later = DAY if path.name.startswith("day_ahead_prices") else nxt
        if path.name.startswith("actual_load"):
            later = str(np.datetime64(DAY) - np.timedelta64(1, "D"))  # realised load: never an input
        _perturb_csv(path, out / path.name, "datetime", later)
    return out


@pytest.fixture(scope="module")
def fundamentals_dir(entsoe_dir: Path) -> Path:
    """The shared fundamentals beside the ENTSO-E files (their README's layout)."""
    path = entsoe_dir.parent / "fundamentals"
    if not (path / "commodities_daily.csv").exists():
        pytest.fail(f"fundamentals not found at {path}")
    return path


def _perturbed_fundamentals(source: Path, out: Path) -> Path:
    """Closes of D-1 and later, reservoir weeks published on D-1 or later, weather of D-1 and later."""
    out.mkdir(parents=True, exist_ok=True)
    d1 = str(np.datetime64(DAY) - np.timedelta64(1, "D"))
    _perturb_csv(source / "commodities_daily.csv", out / "commodities_daily.csv", "date", d1)
    _perturb_csv(source / "weather_daily_NO_1.csv", out / "weather_daily_NO_1.csv", "date", d1)
    _perturb_csv(
        source / "reservoir_NO_1.csv",
        out / "reservoir_NO_1.csv",
        "published",
        d1,
        skip=("week_end", "iso_year", "iso_week"),
    )
    return out


def _forecast(market: Path, fundamentals: Path) -> dict[str, np.ndarray]:
    panel = DayPanel.from_frame(load_market(market, "NO1"))
    feats = FileFundamentals(fundamentals).features("NO1", panel.days)
    d = panel.index_of(DAY)
    return forecast_days(
        panel,
        feats,
        d - 1,
        d,
        d,
        horizons=(0, 1, 6),
        recalibrate="daily",
        params=FAST,
        lear_config=LEAR_SHORT,
    )


def test_no_look_ahead_forecast_of_d_is_bit_for_bit_unchanged(
    entsoe_dir: Path, fundamentals_dir: Path, tmp_path: Path
) -> None:
    base = _slice_dir(entsoe_dir, tmp_path / "base", "2022-08-01", "2024-02-20")
    changed = _perturbed_market(base, tmp_path / "changed")
    fund = _perturbed_fundamentals(fundamentals_dir, tmp_path / "fund")
    # the perturbation really reaches the inputs: the panels differ from D on, not before
    p0 = DayPanel.from_frame(load_market(base, "NO1"))
    p1 = DayPanel.from_frame(load_market(changed, "NO1"))
    d = p0.index_of(DAY)
    assert (p0.price[d:] != p1.price[d:]).all() and np.array_equal(p0.price[:d], p1.price[:d])
    assert (p0.load[d + 1 :] != p1.load[d + 1 :]).all()
    f0 = FileFundamentals(fundamentals_dir).features("NO1", p0.days)
    f1 = FileFundamentals(fund).features("NO1", p0.days)
    assert f0["gas_ttf"][d + 1] != f1["gas_ttf"][d + 1]  # the close of D-1 is used for D+1
    assert f0["reservoir_fill"][d + 2] != f1["reservoir_fill"][d + 2]
    before = _forecast(base, fundamentals_dir)
    after = _forecast(changed, fund)
    for name in ("lear", "p10", "p50", "p90", "p50_model"):
        assert np.isfinite(before[name]).all(), name
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)


def test_day_ahead_slice_beats_naive(entsoe_dir: Path, fundamentals_dir: Path, tmp_path: Path) -> None:
    data = _slice_dir(entsoe_dir, tmp_path / "slice", "2022-09-01", "2023-12-20")
    report = run_day_ahead(
        data,
        "NO1",
        "2023-11-30",
        "2023-12-01",
        "2023-12-14",
        recalibrate="weekly",
        fundamentals_dir=fundamentals_dir,
        params=FAST,
        lear_config=LEAR_SHORT,
    )
    assert report["days"] == 14 and report["hours"] == 14 * 24
    assert report["fundamentals"].startswith("files:")
    assert report["model"]["rmae"] < 0.9
    assert report["lear"]["rmae"] < 1.0
    assert 0.4 <= report["model"]["coverage_p10_p90"] <= 1.0


def test_cli_week_ahead_json_contract(
    entsoe_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _slice_dir(entsoe_dir, tmp_path / "slice", "2021-09-01", "2023-01-20")  # no fundamentals here
    code = main(
        [
            *("--data-dir", str(data), "--zone", "NO1", "--train-end", "2023-01-05"),
            *("--test-start", "2023-01-06", "--test-end", "2023-01-12"),
            *("--protocol", "week-ahead", "--recalibrate", "never", "--json", "--rounds", "20"),
            *("--lear-window", "400"),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"zone", "protocol", "days", "recalibrate", "model", "naive", "lear", "by_horizon_day"} <= set(doc)
    assert set(doc["model"]) == {"mae", "rmae", "smape", "coverage_p10_p90", "pinball"}
    assert {"mae", "smape"} == set(doc["naive"]) and {"mae", "rmae"} <= set(doc["lear"])
    assert doc["protocol"] == "week-ahead" and doc["recalibrate"] == "never" and doc["days"] == 7
    assert [row["horizon_day"] for row in doc["by_horizon_day"]] == list(range(7))
    assert all(row["mae"] > 0 and row["rmae_climatology"] > 0 for row in doc["by_horizon_day"])
    assert doc["fundamentals"].startswith("none")
