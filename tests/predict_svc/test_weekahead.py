"""The served week-ahead model: in the artifact, direct per horizon day, bands calibrated per
horizon day on the synthetic market, no look-ahead, runtime feature guard, readiness after the path."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import predict_svc.runtime as runtime
from common.errors import FailedPrecondition
from energypulse.prediction.v1 import forecast_pb2
from predict_svc.clock import RealClock
from predict_svc.model import PriceModel, load_model, save_model, train_model
from predict_svc.runtime import ZoneMarket, build_path
from predict_svc.server import warm_once
from predict_svc.servicer import forecast_notes
from predict_svc.synthetic import generate_market, load_params
from tests.predict_svc.conftest import NOW, SMALL, synthetic_frame
from tests.predict_svc.serving import seeded_app


def _market(frame: object, zone: str = "NO1") -> ZoneMarket:
    return ZoneMarket(zone, frame, RealClock(now_fn=lambda: NOW.to_pydatetime()), "synthetic")  # type: ignore[arg-type]


def test_artifact_carries_the_week_ahead_model(small_model: PriceModel, tmp_path: Path) -> None:
    assert small_model.week_ahead is not None
    assert small_model.week_ahead.days == 7
    meta = small_model.metadata()
    assert meta["week_ahead"]["days"] == 7 and set(meta["week_ahead"]["band_offsets"]) == {
        str(k) for k in range(7)
    }
    loaded = load_model(save_model(small_model, tmp_path / "NO1.json"))
    assert loaded.week_ahead is not None and loaded.week_ahead.offsets == small_model.week_ahead.offsets
    market = _market(
        generate_market(load_params("NO1"), NOW - pd.Timedelta(days=40), NOW + pd.Timedelta(days=20))
    )
    a = build_path(market, small_model, NOW.to_pydatetime()).forecast
    b = build_path(market, loaded, NOW.to_pydatetime()).forecast
    np.testing.assert_array_equal(a.p50, b.p50)
    # The path covers 7 whole delivery days after the last published one, from the model itself.
    assert len(a.p50) >= 7 * 24 - 1 and np.isfinite(a.p10).all() and (a.p10 <= a.p90).all()
    # The spike tail P95..P99.9 travels in the artifact and on the path, above the band.
    tail = (0.95, 0.99, 0.995, 0.999)
    assert loaded.week_ahead.upper_levels == tail == small_model.week_ahead.upper_levels
    assert loaded.week_ahead.upper_offsets == small_model.week_ahead.upper_offsets
    # The after-auction offsets too; an artifact from before them loads and serves the others.
    assert loaded.week_ahead.after_offsets == small_model.week_ahead.after_offsets
    assert set(loaded.week_ahead.after_offsets) == set(range(7))
    assert loaded.week_ahead.after_upper_offsets == small_model.week_ahead.after_upper_offsets
    older = small_model.week_ahead.to_doc()
    del older["after_offsets"], older["after_upper_offsets"]
    old_model = type(small_model.week_ahead).from_doc(older)
    assert old_model.after_offsets == {} and old_model._model().offsets_for(True)[0] == old_model.offsets
    assert meta["week_ahead"]["upper_levels"] == list(tail)
    # Day of year is left out (blocked cross-fits over a year or two cannot calibrate it).
    assert "doy" not in small_model.week_ahead.names and "dow" in small_model.week_ahead.names
    np.testing.assert_array_equal(a.upper[0.999], b.upper[0.999])
    assert (a.p90 <= a.upper[0.95]).all()
    assert all((a.upper[lo] <= a.upper[hi]).all() for lo, hi in itertools.pairwise(tail))


def test_week_ahead_path_reads_nothing_after_the_last_published_day(small_model: PriceModel) -> None:
    frame = generate_market(load_params("NO1"), NOW - pd.Timedelta(days=40), NOW + pd.Timedelta(days=20))
    market = _market(frame)
    path = build_path(market, small_model, NOW.to_pydatetime())
    changed = frame.copy()
    at = changed.pos(path.published_end)
    rng = np.random.default_rng(0)
    price = changed.columns["price"]
    price[at:] = rng.normal(500, 200, len(price) - at)  # every price not yet published
    again = build_path(_market(changed), small_model, NOW.to_pydatetime())
    np.testing.assert_array_equal(path.forecast.p10, again.forecast.p10)
    np.testing.assert_array_equal(path.forecast.p50, again.forecast.p50)
    np.testing.assert_array_equal(path.forecast.p90, again.forecast.p90)


@pytest.mark.timeout(1200)  # a cap for a loaded shared machine (one 440-day training), not a wait
def test_bands_are_calibrated_at_D_and_at_D6_on_the_synthetic_market() -> None:
    """P10-P90 coverage of the served path, per horizon day, over 120 publications (2,880 hours
    per horizon day) after the training range: near 80% at D and at D+6 (the 24-hour model chained
    over the week covered 0.16 at day 7)."""
    start = NOW + pd.Timedelta(days=60)
    frame = generate_market(
        load_params("NO1"), start - pd.Timedelta(days=440), start + pd.Timedelta(days=140), seed=5
    )
    params = dataclasses.replace(SMALL, week_ahead_rounds=150, week_ahead_folds=10, threads=1)
    model = train_model(frame, "NO1", train_end=(start - pd.Timedelta(days=2)).to_pydatetime(), params=params)
    market = _market(frame)
    inside: dict[int, list[float]] = {k: [] for k in range(7)}
    for d in range(120):
        f = build_path(market, model, (start + pd.Timedelta(days=d)).to_pydatetime()).forecast
        actual = np.array([frame.value("price", t) for t in f.target_times])
        day = np.minimum(np.arange(len(actual)) // 24, 6)
        hit = (actual >= f.p10) & (actual <= f.p90)
        for k in range(7):
            inside[k].extend(hit[day == k].tolist())
    coverage = {k: float(np.mean(v)) for k, v in inside.items()}
    assert 0.72 <= coverage[0] <= 0.88, coverage
    assert 0.72 <= coverage[6] <= 0.88, coverage


def test_a_configured_feature_missing_at_runtime_is_a_clear_error(small_model: PriceModel) -> None:
    frame = generate_market(load_params("NO1"), NOW - pd.Timedelta(days=40), NOW + pd.Timedelta(days=20))
    assert small_model.week_ahead is not None
    # Week-ahead model configured with a weather fundamental, zone without a fundamentals source.
    weather = dataclasses.replace(small_model.week_ahead, fundamentals=("temp_lag",))
    with pytest.raises(FailedPrecondition) as err:
        build_path(_market(frame), dataclasses.replace(small_model, week_ahead=weather), NOW.to_pydatetime())
    assert err.value.reason == "MODEL_FEATURE_MISSING" and "temp_lag" in err.value.message
    # Hourly model trained with the temperature feature: the runtime must pass it too.
    temps = np.full(len(synthetic_frame()), 3.0)
    hourly = train_model(
        synthetic_frame(),
        "NO1",
        train_end=(NOW - pd.Timedelta(days=10)).to_pydatetime(),
        params=dataclasses.replace(SMALL, week_ahead_days=0, multi_horizon=False),
        temperature=temps,
    )
    assert "temperature" in hourly.features and hourly.week_ahead is None
    with pytest.raises(FailedPrecondition) as err:
        build_path(_market(frame), hourly, NOW.to_pydatetime())
    assert err.value.reason == "MODEL_FEATURE_MISSING" and "temperature" in err.value.message


EXOGENOUS = ("load_forecast", "wind_onshore", "wind_offshore", "solar")


def test_an_unpublished_first_day_forecast_is_replaced_by_the_day_before(small_model: PriceModel) -> None:
    """After the auction the first unpublished day's load and wind/solar forecasts are not out
    (until ~10:00 CET the next day). The forecast is still made, from the latest known day's
    forecasts for the same hours (one day older), and says which series it replaced; no value
    after the issue is read (the same answer whatever the missing rows would have held)."""
    assert small_model.week_ahead is not None
    wa = small_model.week_ahead
    frame = generate_market(load_params("NO1"), NOW - pd.Timedelta(days=40), NOW + pd.Timedelta(days=20))
    end = build_path(_market(frame), small_model, NOW.to_pydatetime()).published_end
    at = frame.pos(end)
    unknown = frame.copy()
    for name in EXOGENOUS:  # nothing published from the first unpublished day on
        unknown.columns[name][at:] = np.nan
    f = wa.forecast(unknown, end, 7 * 24)
    assert f.substituted == ("load_forecast", "wind_solar_forecast")
    assert np.isfinite(f.p50).all() and (f.p10 <= f.p90).all()
    # The substitute by hand: the day before's forecasts written into the missing day.
    by_hand = unknown.copy()
    for name in EXOGENOUS:
        by_hand.columns[name][at : at + 24] = frame.columns[name][at - 24 : at]
    g = wa.forecast(by_hand, end, 7 * 24)
    assert g.substituted == ()
    np.testing.assert_array_equal(f.p50, g.p50)
    # Its band is the one calibrated on held-out rows built the same way (after the auction).
    assert wa.after_offsets and wa.after_offsets != wa.offsets
    as_after = dataclasses.replace(wa, offsets=wa.after_offsets, upper_offsets=wa.after_upper_offsets)
    h = as_after.forecast(by_hand, end, 7 * 24)
    np.testing.assert_array_equal(f.p10, h.p10)
    np.testing.assert_array_equal(f.p90, h.p90)
    np.testing.assert_array_equal(f.upper[0.99], h.upper[0.99])
    assert not np.array_equal(f.p90, g.p90)
    # The path carries it to the response's notes.
    path = build_path(_market(unknown), small_model, NOW.to_pydatetime())
    assert path.forecast.substituted == f.substituted
    notes = runtime.substitution_notes(path)
    assert len(notes) == 2 and notes[0].startswith(
        f"load_forecast of {path.published_day + pd.Timedelta(days=1):%Y-%m-%d} not yet published"
    )
    # The same facts typed (GetPriceForecastResponse.notes), in the same order, for clients
    # that word them in their user's language.
    missing = f"{path.published_day + pd.Timedelta(days=1):%Y-%m-%d}"
    typed = forecast_notes(path)
    assert [(n.code, n.input, n.missing_day, n.used_day) for n in typed] == [
        (
            forecast_pb2.FORECAST_NOTE_CODE_INPUT_SUBSTITUTED,
            forecast_pb2.FORECAST_INPUT_LOAD_FORECAST,
            missing,
            path.published_day.isoformat(),
        ),
        (
            forecast_pb2.FORECAST_NOTE_CODE_INPUT_SUBSTITUTED,
            forecast_pb2.FORECAST_INPUT_WIND_SOLAR_FORECAST,
            missing,
            path.published_day.isoformat(),
        ),
    ]
    # With the real forecasts in the frame nothing is replaced.
    assert wa.forecast(frame, end, 7 * 24).substituted == ()
    # Without any known day to fall back on it is still the clear error, not a guess.
    none = frame.copy()
    for name in EXOGENOUS:
        none.columns[name][at - 24 :] = np.nan
    with pytest.raises(FailedPrecondition) as err:
        build_path(_market(none), small_model, NOW.to_pydatetime())
    assert err.value.reason == "MODEL_FEATURE_MISSING"


def test_a_replay_after_the_auction_does_not_read_the_next_days_unreleased_forecast(
    small_model: PriceModel,
) -> None:
    """A replay/synthetic market holds every forecast in advance. After the auction of D
    (12:45 CET on D-1) the first unpublished day is D+1, whose load and wind/solar forecasts are
    released at 10:00 CET on D: until then the replayed path must not read them (the same answer
    whatever they hold) and uses the day before's, as live; from then on it uses them."""
    frame = generate_market(load_params("NO1"), NOW - pd.Timedelta(days=40), NOW + pd.Timedelta(days=20))
    market = _market(frame)
    cal = market.calendar
    after = (NOW + pd.Timedelta(hours=4)).to_pydatetime()  # 14:30 CET: tomorrow is published
    path = build_path(market, small_model, after)
    k0 = path.published_day + pd.Timedelta(days=1)
    assert after >= cal.expected_publication(path.published_day)
    assert after < cal.load_forecast_release(k0)
    assert path.forecast.substituted == ("load_forecast", "wind_solar_forecast")
    changed = frame.copy()
    at = changed.pos(path.published_end)
    for name in EXOGENOUS:  # every forecast not yet released at the issue
        changed.columns[name][at:] = changed.columns[name][at:] * 3.0 + 1000.0
    again = build_path(_market(changed), small_model, after)
    np.testing.assert_array_equal(path.forecast.p50, again.forecast.p50)
    np.testing.assert_array_equal(path.forecast.p90, again.forecast.p90)
    # Released (10:30 CET the next morning, same publication state): the real forecast is used,
    # and the cache key tells the two apart.
    morning = cal.load_forecast_release(k0) + pd.Timedelta(minutes=30)
    released = build_path(market, small_model, morning)
    assert released.published_day == path.published_day and released.forecast.substituted == ()
    assert runtime.exogenous_known(market, path.published_end, morning)
    assert not runtime.exogenous_known(market, path.published_end, after)


async def test_ready_only_after_the_week_ahead_path_is_computed(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = seeded_app(tmp_path, lambda: NOW.to_pydatetime(), models_from=model_dir, zones=("NO1",))
    assert len(app.registry.loaded()) == 1
    assert not app.ready()  # a model is loaded, but the path is not computed: NOT_SERVING
    await warm_once(app)
    assert app.ready()

    # A request right after readiness is served from the cached path: computing one now fails.
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a request computed the price path after readiness")

    monkeypatch.setattr(runtime, "build_path", refuse)
    path = await app.servicer.path_for("NO1")
    assert path.forecast is not None and len(path.forecast.p50) >= 7 * 24 - 1
    app.accuracy.close()
