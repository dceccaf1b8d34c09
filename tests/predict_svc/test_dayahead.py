"""Day-ahead protocol: no look-ahead (bit for bit), beats naive on a real slice, JSON contract."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.backtest import main
from predict_svc.dayahead import DayAheadParams, Design
from predict_svc.dayahead_backtest import forecast_days, run_day_ahead
from predict_svc.fundamentals import FileFundamentals
from predict_svc.lear import LearConfig
from predict_svc.market import load_market
from predict_svc.protocols import DayPanel

FAST = DayAheadParams(rounds=25, num_leaves=15, calibration_days=60)
LEAR_SHORT = LearConfig(calibration_days=400)
WINDOWS_SHORT = (56, 400)  # the model's LEAR ensemble on the slices: a short and the baseline window
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
        lear_windows=WINDOWS_SHORT,
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
    for name in ("lear", "lear_ensemble", "p10", "p50", "p90", "p50_model"):
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
        lear_windows=WINDOWS_SHORT,
    )
    assert report["days"] == 14 and report["hours"] == 14 * 24
    assert report["fundamentals"].startswith("files:")
    assert report["model"]["rmae"] < 0.9
    assert report["lear"]["rmae"] < 1.0
    ens = report["lear_ensemble"]
    assert ens["windows"] == 2 and ens["rmae_400d"] == pytest.approx(report["lear"]["rmae"])
    assert ens["rmae"] < 1.0
    assert 0.4 <= report["model"]["coverage_p10_p90"] <= 1.0
    spike = report["spike"]
    assert spike["hours"] == 7 * 24 and spike["threshold_eur_mwh"] > 0
    assert 0 <= spike["brier_model"] <= 1 and 0 <= spike["brier_residual_baseline"] <= 1


def _regime_change_design(n: int = 2000) -> tuple[Design, np.ndarray]:
    """A toy market whose target jumps from 0 to 1 at 70 % of its rows (featureless): recency
    weights move a booster to the newest regime."""
    rows = np.arange(n)
    design = Design(
        np.zeros((n, 1), dtype=np.float32),
        (rows >= 0.7 * n).astype(float),
        rows,
        rows,
        rows % 24,
        np.zeros(n),
        np.zeros(n),
        np.ones(n),
        ("x",),
    )
    return design, np.ones(n, dtype=bool)


def test_recency_weighting_follows_the_newest_regime() -> None:
    """Old targets at 0, the newest 30% at 1 (one feature that cannot tell them apart): equal
    weights give the median of the mix (0), a short half-life the newest regime (1)."""
    from predict_svc.dayahead import _train

    design, mask = _regime_change_design()
    flat = DayAheadParams(rounds=20, min_data_in_leaf=5, half_life_days=None, upper_levels=())
    p50 = _train(design, mask, flat)[1].predict(design.X[:1])[0]  # type: ignore[attr-defined]
    recent = _train(design, mask, DayAheadParams(**{**flat.__dict__, "half_life_days": 50.0}))[1]
    assert abs(p50) < 0.1 and recent.predict(design.X[:1])[0] > 0.9  # type: ignore[attr-defined]


def test_held_out_rows_are_the_conformal_ones_in_eur() -> None:
    """The model keeps the rows its offsets came from, as served: per issue ``m + s sinh(y)``
    prices, the quantiles after the offsets, and a share ``level`` of those prices at or below
    each upper quantile (what a tail map or a tail choice is scored on)."""
    from predict_svc.dayahead import Design, fit_day_ahead

    rng = np.random.default_rng(11)
    issues, hours = 400, 24
    n = issues * hours
    x = rng.normal(size=n)
    y = 0.5 * x + rng.standard_t(3, size=n) * 0.3
    issue = np.arange(n) // hours
    m, s = 40.0 + issue * 0.1, np.full(n, 8.0)
    design = Design(
        x[:, None].astype(np.float32), y, issue, issue + 1, np.arange(n) % hours, np.zeros(n), m, s, ("x",)
    )
    params = DayAheadParams(rounds=20, num_leaves=7, min_data_in_leaf=20, calibration_days=100)
    model = fit_day_ahead(design, params)
    assert model.heldout is not None
    q, price = model.heldout
    held = issue > issue.max() - 100
    assert q.shape == (held.sum(), 3 + len(params.upper_levels))
    np.testing.assert_allclose(price, m[held] + s[held] * np.sinh(y[held]))
    assert (np.diff(q, axis=1) >= 0).all()
    for j, level in enumerate(params.upper_levels):
        assert np.mean(price <= q[:, 3 + j]) == pytest.approx(level, abs=1.5 / held.sum() + 1e-9)


def test_spike_brier_by_hand() -> None:
    """Training prices 0..99 (threshold = their 95th percentile, 94.05); 8 test days, the residual
    baseline exists on day 8 only; its hour 0 is a spike (200) that the model's band brackets (the
    threshold between P50 and P90: probability 0.419 by linear interpolation), every other hour has
    the threshold above its P90 (probability 0.1, the API's bound)."""
    from predict_svc.dayahead_backtest import _spike_brier
    from predict_svc.protocols import DayPanel

    history = np.arange(100 * 24, dtype=float).reshape(100, 24) % 100
    test = np.full((8, 24), 10.0)
    test[7, 0] = 200.0
    prices = np.vstack([history, test])
    days = np.datetime64("2024-01-01") + np.arange(len(prices)).astype("timedelta64[D]")
    panel = DayPanel(days, prices, np.ones_like(prices), np.ones_like(prices))
    mid = np.full((8, 24), 10.0)
    lo, hi = mid - 5, mid + 5
    lo[7, 0], mid[7, 0], hi[7, 0] = 50.0, 90.0, 110.0
    out = _spike_brier(panel, 99, mid, lo, hi, test)
    assert out["threshold_eur_mwh"] == pytest.approx(94.05)
    assert out["hours"] == 24 and out["base_rate"] == pytest.approx(1 / 24)
    # Model: hour 0 p = 1 - (0.5 + 0.4 * (94.05 - 90) / 20) = 0.419 (event 1); 23 hours p = 0.1 (event 0).
    p0 = 1 - (0.5 + 0.4 * (94.05 - 90) / 20)
    assert out["brier_model"] == pytest.approx(((p0 - 1) ** 2 + 23 * 0.1**2) / 24)
    # Baseline: residuals of days 0..6 are all 0, so its band collapses to the P50 (10 or 90): the
    # threshold is above the top quantile everywhere, p = 0.1.
    assert out["brier_residual_baseline"] == pytest.approx(((0.1 - 1) ** 2 + 23 * 0.1**2) / 24)


def test_spike_brier_with_upper_quantiles_by_hand() -> None:
    """The same days with P95/P99: every quiet hour has the threshold above its P99, so its
    probability is the P99 bound (1%) instead of the P90 one (10%); the spike hour's threshold lies
    between P90 (90) and P95 (100), linear there. The residual baseline gets the same levels."""
    from predict_svc.dayahead_backtest import _spike_brier
    from predict_svc.protocols import DayPanel

    history = np.arange(100 * 24, dtype=float).reshape(100, 24) % 100
    test = np.full((8, 24), 10.0)
    test[7, 0] = 200.0
    prices = np.vstack([history, test])
    days = np.datetime64("2024-01-01") + np.arange(len(prices)).astype("timedelta64[D]")
    panel = DayPanel(days, prices, np.ones_like(prices), np.ones_like(prices))
    mid = np.full((8, 24), 10.0)
    lo, hi = mid - 5, mid + 5
    lo[7, 0], mid[7, 0], hi[7, 0] = 50.0, 80.0, 90.0
    upper = {0.95: hi + 10, 0.99: hi + 30}  # hour 0: P95 100, P99 120
    out = _spike_brier(panel, 99, mid, lo, hi, test, upper)
    assert out["levels"] == 5 and out["hours"] == 24
    p0 = 1 - (0.9 + 0.05 * (94.05 - 90) / 10)  # between P90 and P95
    assert out["brier_model"] == pytest.approx(((p0 - 1) ** 2 + 23 * 0.01**2) / 24)
    assert out["brier_model_p10_p50_p90"] == pytest.approx(((0.1 - 1) ** 2 + 23 * 0.1**2) / 24)
    # Baseline: zero residuals, all its quantiles at the P50 -> the P99 bound everywhere.
    assert out["brier_residual_baseline"] == pytest.approx(((0.01 - 1) ** 2 + 23 * 0.01**2) / 24)
    assert out["coverage_p99"] == pytest.approx(23 / 24)


def test_cli_week_ahead_json_contract(
    entsoe_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _slice_dir(entsoe_dir, tmp_path / "slice", "2021-09-01", "2023-01-20")  # no fundamentals here
    code = main(
        [
            *("--data-dir", str(data), "--zone", "NO1", "--train-end", "2023-01-05"),
            *("--test-start", "2023-01-06", "--test-end", "2023-01-12"),
            *("--protocol", "week-ahead", "--recalibrate", "never", "--json", "--rounds", "20"),
            *("--lear-window", "400", "--lear-windows", "56,400", "--upper-levels", "0.95,0.99,0.995"),
            *("--save-forecasts", str(tmp_path / "fc.npz")),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    saved = np.load(tmp_path / "fc.npz")
    assert {"lear_56", "lear_400", "up_0.995", "p50_model", "actual"} <= set(saved.files)
    assert saved["up_0.995"].shape == (7, 24) and np.isfinite(saved["up_0.995"]).all()
    np.testing.assert_allclose(saved["lear"], saved["lear_400"])  # the baseline: the 400-day member
    assert {"zone", "protocol", "days", "recalibrate", "model", "naive", "lear", "by_horizon_day"} <= set(doc)
    assert set(doc["model"]) == {"mae", "rmae", "smape", "coverage_p10_p90", "pinball"}
    assert {"mae", "smape"} == set(doc["naive"]) and {"mae", "rmae"} <= set(doc["lear"])
    assert doc["protocol"] == "week-ahead" and doc["recalibrate"] == "never" and doc["days"] == 7
    assert [row["horizon_day"] for row in doc["by_horizon_day"]] == list(range(7))
    assert all(row["mae"] > 0 and row["rmae_climatology"] > 0 for row in doc["by_horizon_day"])
    assert doc["fundamentals"].startswith("none")


def test_p50_half_life_weights_the_p50_booster_only() -> None:
    """The toy market of the recency test: ``p50_half_life_days`` moves the P50 to the newest
    regime (1) and leaves the P10 at the median-free lower quantile of the mix (0)."""
    from predict_svc.dayahead import _train

    design, mask = _regime_change_design()
    params = DayAheadParams(rounds=20, min_data_in_leaf=5, upper_levels=(), p50_half_life_days=50.0)
    p10, p50, _p90 = (b.predict(design.X[:1])[0] for b in _train(design, mask, params))  # type: ignore[attr-defined]
    assert p50 > 0.9 and abs(p10) < 0.1


def test_p50_refit_cadence_refits_the_p50_only(
    entsoe_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``p50_refit_days=7`` under ``weekly``: the P50 booster alone refit on test days 7, 14, 21,
    every booster at 0 and 28 (as today); P10/P90/upper forecasts bit for bit today's, the P50
    today's until day 7 and different after; the default is today (no P50-only refit)."""
    import predict_svc.dayahead as da

    market = _slice_dir(entsoe_dir, tmp_path / "m", "2022-06-01", "2024-03-10")
    panel = DayPanel.from_frame(load_market(market, "NO1"))
    a = panel.index_of("2024-01-01")
    calls: list[tuple[float, ...]] = []
    real = da._train

    def spy(
        design: object, mask: np.ndarray, params: DayAheadParams, levels: tuple[float, ...] | None = None
    ) -> list[object]:
        calls.append(levels if levels is not None else da._levels(params))
        return real(design, mask, params, levels)  # type: ignore[arg-type]

    monkeypatch.setattr(da, "_train", spy)
    params = DayAheadParams(rounds=15, num_leaves=7, calibration_days=60, upper_levels=(0.95,))

    def run(p50_days: int | None) -> dict[str, np.ndarray]:
        calls.clear()
        return forecast_days(
            panel,
            None,
            a - 1,
            a,
            a + 29,
            (0,),
            "weekly",
            params,
            LEAR_SHORT,
            lear_windows=(400,),
            lear_refit_days={400: 10**9},
            p50_refit_days=p50_days,
        )

    today = run(None)
    today_calls = list(calls)
    weekly = run(7)
    full = (0.1, 0.5, 0.9, 0.95)
    assert today_calls == [full] * 3  # validation fit, first fit, refit on day 28
    assert calls == [full, full, (0.5,), (0.5,), (0.5,), full]
    for name in ("p10", "p90"):
        np.testing.assert_array_equal(today[name], weekly[name], err_msg=name)
    np.testing.assert_array_equal(today["upper"][0.95], weekly["upper"][0.95])
    np.testing.assert_array_equal(today["p50"][0, :7], weekly["p50"][0, :7])
    assert all(not np.array_equal(today["p50"][0, d], weekly["p50"][0, d]) for d in (7, 14, 21))
    np.testing.assert_array_equal(today["p50"][0, 28:], weekly["p50"][0, 28:])  # the full refit
    np.testing.assert_array_equal(run(28)["p50"], today["p50"])
