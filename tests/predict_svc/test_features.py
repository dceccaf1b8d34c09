"""Feature construction: no look-ahead, horizon handling, calendar and holidays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.clock import RealClock
from predict_svc.features import (
    FEATURE_NAMES,
    MAX_LAG,
    build_features,
    calendar_features,
    rolling,
    series_stats,
    stack_horizons,
)
from predict_svc.market import load_market, load_market_hourly
from predict_svc.model import forecast_features
from predict_svc.runtime import ZoneMarket
from tests.predict_svc.conftest import synthetic_frame


@pytest.mark.parametrize("horizon", [1, 6, 24])
def test_no_prices_after_the_origin_are_used(horizon: int) -> None:
    frame = synthetic_frame(days=30)
    target = frame.index[500]
    origin = target - pd.Timedelta(hours=horizon)
    base = build_features(frame, horizon, targets=pd.DatetimeIndex([target]))
    changed = frame.copy()
    changed.loc[changed.index > origin, "price"] += 1000.0  # the future moves; features must not
    again = build_features(changed, horizon, targets=pd.DatetimeIndex([target]))
    np.testing.assert_array_equal(base.X, again.X)
    assert again.last_price[0] == frame.loc[origin, "price"]
    # ...but the target (used for training only) does see it.
    assert again.y is not None and base.y is not None and again.y[0] != base.y[0]


def test_exogenous_forecasts_of_the_target_hour_are_used() -> None:
    frame = synthetic_frame(days=30)
    target = frame.index[500]
    base = build_features(frame, 1, targets=pd.DatetimeIndex([target]))
    changed = frame.copy()
    changed.loc[target, "load_forecast"] += 500.0
    again = build_features(changed, 1, targets=pd.DatetimeIndex([target]))
    col = FEATURE_NAMES.index("load_fc")
    assert again.X[0, col] == base.X[0, col] + 500.0


def test_shapes_horizon_validation_and_stacking() -> None:
    frame = synthetic_frame(days=20)
    fs = build_features(frame, 3)
    assert fs.X.shape == (len(frame), len(FEATURE_NAMES)) and fs.X.dtype == np.float32
    with pytest.raises(ValueError):
        build_features(frame, 0)
    with pytest.raises(ValueError):
        build_features(frame, 193)  # MAX_HORIZON + 1
    stacked = stack_horizons(frame, [2, 5])
    assert stacked.X.shape[0] == 2 * len(frame)
    assert set(np.unique(stacked.X[:, FEATURE_NAMES.index("horizon")])) == {2.0, 5.0}


def test_calendar_uses_local_time_and_norwegian_holidays() -> None:
    index = pd.DatetimeIndex(
        [
            pd.Timestamp("2024-05-17 10:00", tz="Europe/Oslo").tz_convert("UTC"),
            pd.Timestamp("2024-05-16 23:30", tz="UTC"),
            pd.Timestamp("2024-12-25 12:00", tz="Europe/Oslo").tz_convert("UTC"),
            pd.Timestamp("2024-05-21 12:00", tz="Europe/Oslo").tz_convert("UTC"),
        ]
    )
    cal = calendar_features(index)
    assert list(cal["is_holiday"]) == [1.0, 1.0, 1.0, 0.0]  # 17 May (01:30 local), Christmas; a Tuesday
    assert cal["hour"][0] == 10 and cal["hour"][1] == 1
    assert list(cal["is_workday"]) == [0.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("zone", ["NO1", "NO2", "NO5"])
def test_served_feature_rows_equal_the_training_rows(entsoe_dir: Path, zone: str) -> None:
    """A live forecast (the service: numpy columns, a short window, prices after the origin hidden)
    builds exactly the rows training built from the whole pandas frame, for every horizon."""
    hourly = load_market_hourly(entsoe_dir, zone)
    frame = load_market(entsoe_dir, zone)  # what python -m predict_svc.train reads
    stats = series_stats(frame)
    training = {h: build_features(frame, h, stats=stats) for h in range(1, 25)}
    market = ZoneMarket(zone, hourly, RealClock(), "entsoe")
    rng = np.random.default_rng(len(zone))
    origins = np.sort(rng.choice(np.arange(MAX_LAG + 400, len(frame) - 30), size=40, replace=False))
    for i in origins.tolist():
        origin = frame.index[i]
        rows = forecast_features(market.known(origin, history_hours=MAX_LAG + 1), origin, range(1, 25))
        for h, fs in zip(range(1, 25), rows, strict=True):
            train = training[h]
            t = i + h
            assert fs.target_index[0] == train.target_index[t]
            np.testing.assert_array_equal(fs.X[0], train.X[t], err_msg=f"{zone} origin {origin} h={h}")
            assert fs.last_price[0] == train.last_price[t] or np.isnan(train.last_price[t])
            assert fs.scale[0] == train.scale[t]


def test_rolling_statistics_match_pandas_and_ignore_where_the_series_starts(entsoe_dir: Path) -> None:
    price = load_market_hourly(entsoe_dir, "NO2")["price"][:6000]
    series = pd.Series(price)
    for window, fn in ((6, "mean"), (24, "mean"), (24, "std"), (24, "min"), (24, "max"), (168, "std")):
        ours = rolling(price, window, fn)
        theirs = getattr(series.rolling(window, min_periods=window // 2), fn)().to_numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-9)
        # The value of a row depends on its window only, not on the rows before it.
        np.testing.assert_array_equal(rolling(price[1000:], window, fn)[window:], ours[1000 + window :])


def test_long_horizon_rows_never_read_what_is_unknown_at_the_origin() -> None:
    from predict_svc.features import MAX_HORIZON
    from predict_svc.hourly import HourlyFrame

    frame = synthetic_frame(days=30)
    data = HourlyFrame.from_frame(frame)
    h = 40
    target = data.times[len(data) - 5]
    origin_pos = len(data) - 5 - h
    base = build_features(data, h, targets=np.array([target]))
    changed = {k: v.copy() for k, v in data.columns.items()}
    changed["price"][origin_pos + 1 :] += 500.0  # every price after the origin
    for name in ("load_forecast", "wind_onshore", "wind_offshore", "solar"):
        changed[name][origin_pos + 25 :] *= 3.0  # forecasts beyond the next day
    again = build_features(HourlyFrame(data.start, changed), h, targets=np.array([target]))
    np.testing.assert_array_equal(base.X, again.X)
    assert base.y is not None and again.y is not None and base.y[0] != again.y[0]  # only the label moved
    with pytest.raises(ValueError, match="horizon"):
        build_features(data, MAX_HORIZON + 1)
