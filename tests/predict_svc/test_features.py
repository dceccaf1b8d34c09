"""Feature construction: no look-ahead, horizon handling, calendar and holidays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from predict_svc.features import FEATURE_NAMES, build_features, calendar_features, stack_horizons
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
        build_features(frame, 25)
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
