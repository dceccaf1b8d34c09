"""Model training, artifact round trip, metadata, bad artifacts, forecasts over 24 horizons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.features import FEATURE_NAMES, build_features
from predict_svc.hourly import hour64, hours_array
from predict_svc.model import (
    ARTIFACT_FORMAT,
    ModelError,
    PriceModel,
    TrainParams,
    load_model,
    save_model,
    train_model,
)
from tests.predict_svc.conftest import NOW, SMALL, synthetic_frame


def test_metadata(small_model: PriceModel) -> None:
    meta = small_model.metadata()
    assert meta["format"] == ARTIFACT_FORMAT and meta["zone"] == "NO1" and meta["source"] == "synthetic"
    assert meta["horizons"] == list(range(1, 25)) and meta["quantiles"] == [0.1, 0.5, 0.9]
    # trained without a temperature series: the artifact does not claim that feature
    assert meta["features"] == [n for n in FEATURE_NAMES if n != "temperature"]
    assert pd.Timestamp(meta["train_end"]) <= NOW - pd.Timedelta(days=10)
    assert meta["metrics"]["h1_val_mae"] > 0 and 0 < meta["metrics"]["h1_val_coverage_p10_p90"] <= 1
    assert small_model.max_horizon == 24


def test_round_trip_gives_identical_predictions(small_model: PriceModel, tmp_path: Path) -> None:
    path = save_model(small_model, tmp_path / "m" / "NO1.json")
    loaded = load_model(path)
    assert loaded.metadata() == small_model.metadata()
    frame = synthetic_frame("NO1", seed=42)
    origin = NOW.floor("h")
    a = small_model.forecast(frame, origin, list(range(1, 25)))
    b = loaded.forecast(frame, origin, list(range(1, 25)))
    np.testing.assert_array_equal(a.p50, b.p50)
    np.testing.assert_array_equal(a.p10, b.p10)
    expected = hours_array([origin + pd.Timedelta(hours=h) for h in range(1, 25)])
    np.testing.assert_array_equal(a.target_times, expected)
    assert (a.p10 <= a.p50).all() and (a.p50 <= a.p90).all()
    assert not list(tmp_path.glob("m/.*.tmp"))  # atomic write left no temp file


def test_forecast_ignores_prices_after_origin(small_model: PriceModel) -> None:
    frame = synthetic_frame("NO1", seed=42)
    origin = NOW.floor("h")
    base = small_model.forecast(frame, origin, [1, 12])
    future = frame.copy()
    future.loc[future.index > origin, "price"] = 9999.0
    again = small_model.forecast(future, origin, [1, 12])
    np.testing.assert_array_equal(base.p50, again.p50)


def test_next_hour_model_beats_persistence_out_of_sample(small_model: PriceModel) -> None:
    frame = synthetic_frame("NO1", seed=42)
    fs = build_features(frame, 1)
    test = (fs.target_index > hour64(NOW - pd.Timedelta(days=9))) & (
        fs.target_index <= hour64(NOW + pd.Timedelta(days=19))
    )
    sub = fs.subset(test)
    lo, mid, hi = small_model.predict_features(sub, 1)
    actual = frame["price"].to_numpy()[test]
    model_mae = np.mean(np.abs(mid - actual))
    naive_mae = np.mean(np.abs(frame["price"].shift(24).to_numpy()[test] - actual))
    assert model_mae < naive_mae
    coverage = np.mean((actual >= lo) & (actual <= hi))
    assert 0.6 < coverage < 0.97


def test_bad_artifacts_are_rejected(small_model: PriceModel, tmp_path: Path) -> None:
    path = save_model(small_model, tmp_path / "NO1.json")
    doc = json.loads(path.read_text())
    (tmp_path / "garbage.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "garbage.json")
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path / "absent.json")
    (tmp_path / "format.json").write_text(json.dumps({**doc, "format": "other"}))
    with pytest.raises(ModelError, match="not a"):
        load_model(tmp_path / "format.json")
    (tmp_path / "features.json").write_text(json.dumps({**doc, "features": ["a"]}))
    with pytest.raises(ModelError, match="feature set"):
        load_model(tmp_path / "features.json")
    doc["groups"][0]["boosters"][0] = "AAAA"
    (tmp_path / "corrupt.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="corrupt"):
        load_model(tmp_path / "corrupt.json")


def test_too_little_data_is_an_error() -> None:
    frame = synthetic_frame(days=20)
    with pytest.raises(ModelError, match="at least"):
        train_model(frame.iloc[:300], "NO1", params=SMALL)


def test_a_configured_feature_entirely_missing_is_an_error() -> None:
    frame = synthetic_frame(days=60)
    with pytest.raises(ModelError, match="entirely missing in the training data: temperature"):
        train_model(frame, "NO1", params=SMALL, temperature=np.full(len(frame), np.nan))
    blank = frame.copy()
    blank["load_forecast"] = np.nan
    with pytest.raises(ModelError, match="load_fc,"):
        train_model(blank, "NO1", params=SMALL)


def test_temperature_is_a_feature_only_when_given() -> None:
    frame = synthetic_frame(days=60)
    params = TrainParams(
        rounds=5, num_leaves=7, multi_horizon=False, validation_hours=24 * 10, week_ahead_days=0
    )
    without = train_model(frame, "NO1", params=params)
    assert "temperature" not in without.features
    temps = 5 + 10 * np.sin(np.arange(len(frame)) / 24.0)
    used = train_model(frame, "NO1", params=params, temperature=temps)
    assert "temperature" in used.features and used.metadata()["features"] == list(FEATURE_NAMES)


def test_long_horizons_up_to_a_week() -> None:
    frame = synthetic_frame(days=90)
    params = TrainParams(
        rounds=10,
        num_leaves=7,
        multi_rows=4000,
        validation_hours=24 * 10,
        max_horizon=60,
        long_step=12,
        week_ahead_days=0,
    )
    model = train_model(frame, "NO1", train_end=NOW - pd.Timedelta(days=10), params=params)
    assert model.max_horizon == 60 and model.metadata()["horizons"] == list(range(1, 61))
    origin = (NOW - pd.Timedelta(days=5)).floor("h").to_pydatetime()
    fc = model.forecast(frame, origin, list(range(1, 61)))
    assert np.isfinite(fc.p50).all() and (fc.p10 <= fc.p50).all() and (fc.p50 <= fc.p90).all()
    assert fc.target_times[-1] == hour64(origin) + np.timedelta64(60, "h")
