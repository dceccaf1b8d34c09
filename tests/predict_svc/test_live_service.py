"""A live service over several simulated days: the real :class:`PublicationPoller` reading
:class:`FilePrices` (files in a temporary directory, one delivery day appended per publication)
writes each day into the running service's market, and GetPriceForecast through a real gRPC
server on loopback serves it as published. The clock is injected: nothing waits for real time.

Also the atomicity of a publication: a day is swapped in whole (copy-on-write), so a request
that runs while a day is being applied sees the market before or after it, never half of it."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from energy.market_calendar import MarketCalendar
from energypulse.prediction.v1 import forecast_pb2
from energypulse.prediction.v1 import prediction_service_pb2 as pb
from energypulse.prediction.v1 import prediction_service_pb2_grpc as pb_grpc
from predict_svc.hourly import HourlyFrame
from predict_svc.live import (
    FilePrices,
    ForecastWatcher,
    PublicationPoller,
    apply_day,
    publish_day,
    refresh_forecasts,
)
from predict_svc.runtime import MAX_HORIZON, ZoneMarket
from predict_svc.server import PredictApp
from predict_svc.synthetic import generate_market, load_params
from tests.predict_svc.serving import bearer, seeded_app, serving

CAL = MarketCalendar.default()
FIRST_DAY = date(2026, 3, 2)  # the last delivery day in the price file at start
DAYS = 4  # delivery days published while the service runs


class MutableClock:
    """The injected clock: tests move it; the service reads it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _local(times: np.ndarray) -> list[str]:
    index = pd.DatetimeIndex(times.astype("datetime64[ns]")).tz_localize("UTC").tz_convert("Europe/Oslo")
    return [t.isoformat() for t in index]


FORECASTS = ("load_forecast", "wind_solar_forecast")


def _forecast_rows(frame: HourlyFrame, upto: np.ndarray) -> dict[str, pd.DataFrame]:
    times = frame.times[upto]
    return {
        "load_forecast": pd.DataFrame(
            {"datetime": _local(times), "load_forecast_mw": frame["load_forecast"][upto]}
        ),
        "wind_solar_forecast": pd.DataFrame(
            {
                "datetime": _local(times),
                "Solar": frame["solar"][upto],
                "Wind Onshore": frame["wind_onshore"][upto],
                "Wind Offshore": frame["wind_offshore"][upto],
            }
        ),
    }


def _write_files(
    directory: Path, frame: HourlyFrame, prices_end: datetime, forecasts_end: datetime | None = None
) -> None:
    """ENTSO-E layout: prices up to ``prices_end`` (exclusive), the forecasts (load, wind,
    solar: published ahead of the prices) up to ``forecasts_end`` (default: the whole frame)."""
    directory.mkdir(parents=True, exist_ok=True)
    times = frame.times
    upto = times < np.datetime64(prices_end.replace(tzinfo=None), "h")
    pd.DataFrame({"datetime": _local(times[upto]), "price_eur_mwh": frame["price"][upto]}).to_csv(
        directory / "day_ahead_prices_NO_1.csv", index=False
    )
    f_upto = np.ones(len(times), dtype=bool)
    if forecasts_end is not None:
        f_upto = times < np.datetime64(forecasts_end.replace(tzinfo=None), "h")
    for prefix, rows in _forecast_rows(frame, f_upto).items():
        rows.to_csv(directory / f"{prefix}_NO_1.csv", index=False)


def _append_forecasts(directory: Path, frame: HourlyFrame, day: date) -> None:
    """The day-ahead load and wind/solar forecasts of ``day`` arrive (the downloader appends)."""
    times = frame.times
    lo = np.datetime64(CAL.day_start(day).replace(tzinfo=None), "h")
    hi = np.datetime64(CAL.day_end(day).replace(tzinfo=None), "h")
    for prefix, rows in _forecast_rows(frame, (times >= lo) & (times < hi)).items():
        rows.to_csv(directory / f"{prefix}_NO_1.csv", mode="a", header=False, index=False)


QUARTER_SHAPE = np.array([-1.5, -0.5, 0.5, 1.5])  # within the hour; the hourly mean is unchanged


def _append_day(directory: Path, frame: HourlyFrame, day: date) -> np.ndarray:
    """Publish ``day`` in 15-minute periods (the market since 2025-10-01): append its quarter
    prices to the price file; returns the hourly means."""
    lo, hi = frame.pos(CAL.day_start(day)), frame.pos(CAL.day_end(day))
    hourly = np.asarray(frame["price"][lo:hi], dtype=float)
    quarters = (hourly[:, None] + QUARTER_SHAPE[None, :]).reshape(-1)
    starts = np.repeat(frame.times[lo:hi].astype("datetime64[m]"), 4) + np.tile(
        np.arange(4) * np.timedelta64(15, "m"), hi - lo
    )
    rows = pd.DataFrame({"datetime": _local(starts), "price_eur_mwh": quarters})
    rows.to_csv(directory / "day_ahead_prices_NO_1.csv", mode="a", header=False, index=False)
    return hourly


@dataclass
class LiveHarness:
    app: PredictApp
    stub: pb_grpc.PredictionServiceStub
    clock: MutableClock
    data: Path
    source: HourlyFrame  # the "truth" the files are written from
    metadata: tuple[tuple[str, str], ...]

    @property
    def market(self) -> ZoneMarket:
        return self.app.markets["NO1"]


@pytest.fixture
async def live(model_dir: Path, tmp_path: Path) -> AsyncIterator[LiveHarness]:
    source = generate_market(
        load_params("NO1"), datetime(2025, 9, 1, tzinfo=UTC), datetime(2026, 3, 25, tzinfo=UTC), seed=7
    )
    data = tmp_path / "data"
    # Live, at 11:00 CET on FIRST_DAY the forecasts reach one day past the prices (the day-ahead
    # load forecast of D is out at 10:00 CET on D-1, before D's auction); each simulated day the
    # next day's forecasts arrive at 10:00 CET (see _load_forecast_release).
    _write_files(data, source, CAL.day_end(FIRST_DAY), CAL.day_end(FIRST_DAY + timedelta(days=1)))
    # 10:00 UTC on FIRST_DAY: its prices are known, tomorrow's auction results are not out yet.
    clock = MutableClock(datetime.combine(FIRST_DAY, datetime.min.time(), UTC) + timedelta(hours=10))
    app = seeded_app(
        tmp_path,
        clock,
        models_from=model_dir,
        zones=("NO1",),
        data_dir=str(data),
        live_market=True,
        accuracy_window_hours=48,
    )
    async with serving(app) as (stub, factory):
        yield LiveHarness(app, stub, clock, data, source, bearer(factory))


def _published(response: pb.GetPriceForecastResponse) -> list[forecast_pb2.PricePeriod]:
    return [p for p in response.periods if p.kind == forecast_pb2.PRICE_KIND_PUBLISHED]


async def _forecast(h: LiveHarness) -> pb.GetPriceForecastResponse:
    request = pb.GetPriceForecastRequest(zone="NO1", resolution=forecast_pb2.PRICE_RESOLUTION_HOUR)
    call: Any = h.stub.GetPriceForecast(request, metadata=h.metadata)  # an aio call (stubs type sync)
    response: pb.GetPriceForecastResponse = await call
    return response


def _load_forecast_release(day: date) -> datetime:
    """When the day-ahead load forecast of ``day`` is out: 10:00 CET/CEST on ``day - 1`` (ENTSO-E
    asks for it two hours before the 12:00 gate closure), i.e. after ``day - 1``'s own prices."""
    return CAL.gate_closure(day) - timedelta(hours=2)


async def test_live_service_takes_each_new_day_over_several_days(
    live: LiveHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """Day after day the poller finds the new day in the file, the service applies it and
    serves it as published, forecasts starting right after it: a running live service keeps
    taking new days (the grid grows with them; no data-range check refuses the grown market).

    The files are written on the real schedule: prices of day X at ~12:45 CET on X-1, the load
    and wind/solar forecasts of X at 10:00 CET on X-1. So after each auction the first
    unpublished day's forecasts are not out yet until the next morning: the service still
    answers (it used to refuse with MODEL_FEATURE_MISSING for most of each day), from the latest
    known day's forecasts, and says so in ``forecast_notes`` and in a log event."""
    h = live
    first = await _forecast(h)
    assert first.forecast_start_time.ToDatetime(UTC) == CAL.day_end(FIRST_DAY)
    assert (
        not first.forecast_notes and not first.notes
    )  # before the auction: the next day's forecasts are out
    poller = PublicationPoller(
        FilePrices(h.data, CAL),
        ("NO1",),
        {"NO1": FIRST_DAY + timedelta(days=1)},
        # As the service's feed does: the forecast files re-read, then the day applied.
        lambda zone, day, prices: _must(publish_day(h.market, day, prices, h.data)),
        calendar=CAL,
    )
    watcher = ForecastWatcher(h.data, {"NO1": h.market})  # the feed's, between publications
    for k in range(1, DAYS + 1):
        day = FIRST_DAY + timedelta(days=k)
        publication = CAL.expected_publication(day)
        assert _load_forecast_release(day) < publication
        h.clock.now = publication - timedelta(minutes=30)
        poller.poll(h.clock.now)  # not yet in the file: nothing published
        assert poller.published.get("NO1", []) == [FIRST_DAY + timedelta(days=i) for i in range(1, k)]
        truth = _append_day(h.data, h.source, day)
        h.clock.now = publication + timedelta(minutes=61)  # the retry after the first miss
        poller.poll(h.clock.now)
        assert poller.published["NO1"][-1] == day and not poller.errors
        with caplog.at_level(logging.INFO, logger="predict_svc.runtime"):
            response = await _forecast(h)  # the gap: day + 1's forecasts are out tomorrow 10:00
        assert response.forecast_start_time.ToDatetime(UTC) == CAL.day_end(day)
        served = {p.start_time.ToDatetime(UTC): p.price_eur_mwh for p in _published(response)}
        starts = [CAL.day_start(day) + timedelta(hours=i) for i in range(len(truth))]
        assert [served[t] for t in starts] == pytest.approx(truth.tolist())
        forecast = [p for p in response.periods if p.kind == forecast_pb2.PRICE_KIND_FORECAST]
        assert forecast and all(np.isfinite(p.price_eur_mwh) for p in forecast)
        # Forecasts reach 7 delivery days past the newly published one.
        assert forecast[-1].delivery_day == (day + timedelta(days=7)).isoformat()
        missing = (day + timedelta(days=1)).isoformat()
        assert any(
            n.startswith(f"load_forecast of {missing} not yet published") for n in response.forecast_notes
        )
        assert all(f"one day older ({day.isoformat()})" in n for n in response.forecast_notes)
        # The typed notes say the same, one per prose line (the dashboard words them itself).
        assert len(response.notes) == len(response.forecast_notes)
        assert forecast_pb2.FORECAST_INPUT_LOAD_FORECAST in [n.input for n in response.notes]
        assert all(
            n.code == forecast_pb2.FORECAST_NOTE_CODE_INPUT_SUBSTITUTED
            and (n.missing_day, n.used_day) == (missing, day.isoformat())
            for n in response.notes
        )
        assert any(r.message == "exogenous_forecast_substituted" for r in caplog.records)
        caplog.clear()
        # The next morning, before the forecasts are out, the same day stays published and the
        # answer the same (still substituted).
        h.clock.now = _load_forecast_release(day + timedelta(days=1)) - timedelta(minutes=15)
        morning = await _forecast(h)
        assert morning.forecast_start_time.ToDatetime(UTC) == CAL.day_end(day)
        assert list(morning.forecast_notes) == list(response.forecast_notes)
        assert list(morning.notes) == list(response.notes)
        # 10:00 CET: day + 1's forecasts arrive (the downloader appends, the watcher re-reads);
        # the forecast is recomputed with them and says nothing is substituted.
        _append_forecasts(h.data, h.source, day + timedelta(days=1))
        h.clock.now = _load_forecast_release(day + timedelta(days=1)) + timedelta(minutes=5)
        assert watcher.poll() == ["NO1"] and watcher.poll() == []  # re-read once, on the change
        known = await _forecast(h)
        assert known.forecast_start_time.ToDatetime(UTC) == CAL.day_end(day)
        assert not known.forecast_notes and not known.notes
        assert all(np.isfinite(p.price_eur_mwh) for p in known.periods)


def _must(applied: bool) -> None:
    assert applied, "the published day was not applied to the live market"


class GatedFrame(HourlyFrame):
    """Pauses the applying thread the first time it reads a column (then apply_day is halfway:
    before the fix it had written the quarter prices already), so a request can run at exactly
    that point. Deterministic: the order is forced by events, not by timing."""

    writer: threading.Thread | None = None
    reached = threading.Event()
    release = threading.Event()

    def __getitem__(self, name: str) -> np.ndarray:
        cls = type(self)
        if threading.current_thread() is cls.writer and not cls.reached.is_set():
            cls.reached.set()
            assert cls.release.wait(30), "the request never finished"
        return super().__getitem__(name)


def _gate(market: ZoneMarket, writer: threading.Thread) -> None:
    GatedFrame.writer = writer
    GatedFrame.reached.clear()
    GatedFrame.release.clear()
    gated = GatedFrame(market.frame.start, market.frame.columns)
    market.update(lambda frame, quarters: (gated, quarters))  # same data, gated reads


async def test_request_during_a_publication_sees_the_whole_day_or_none_of_it(
    live: LiveHarness,
) -> None:
    """Requests over gRPC run while a day is applied, one of them forced into the middle of the
    write. Each answer is consistent: the day is either published with its exact prices or not
    published at all (forecast from its start), never published with missing prices."""
    h = live
    day = FIRST_DAY + timedelta(days=1)
    _append_forecasts(h.data, h.source, day + timedelta(days=1))
    assert refresh_forecasts(h.market, h.data)  # as the feed does before it applies a day
    truth = _append_day(h.data, h.source, day)
    h.clock.now = CAL.expected_publication(day) + timedelta(minutes=5)
    prices = FilePrices(h.data, CAL).day_prices("NO1", day)
    assert prices is not None
    before = await _forecast(h)
    assert before.forecast_start_time.ToDatetime(UTC) == CAL.day_end(FIRST_DAY)
    errors: list[Exception] = []

    def write() -> None:
        try:
            _must(apply_day(h.market, day, prices))
        except (AssertionError, ValueError) as exc:  # reported by the test body
            errors.append(exc)

    writer = threading.Thread(target=write, name="apply-day")
    # The day lies inside the grid (grown at start): the writer reads the gated frame itself.
    assert h.market.frame.last >= CAL.day_end(day) + timedelta(hours=MAX_HORIZON)
    _gate(h.market, writer)
    writer.start()
    try:
        reached = await asyncio.to_thread(GatedFrame.reached.wait, 30)
        assert reached
        # The writer is paused mid-publication: concurrent readers now.
        during = await asyncio.gather(*(_forecast(h) for _ in range(4)))
    finally:
        GatedFrame.release.set()
        await asyncio.to_thread(writer.join, 30)
    assert not errors
    after = await _forecast(h)
    assert after.forecast_start_time.ToDatetime(UTC) == CAL.day_end(day)
    starts = [CAL.day_start(day) + timedelta(hours=i) for i in range(len(truth))]
    for response in [*during, after]:
        _check_consistent(response, day, starts, truth)


def _check_consistent(
    response: pb.GetPriceForecastResponse, day: date, starts: list[datetime], truth: np.ndarray
) -> None:
    served = {p.start_time.ToDatetime(UTC): p for p in response.periods}
    published = response.forecast_start_time.ToDatetime(UTC) == CAL.day_end(day)
    if published:
        got = [served[t].price_eur_mwh for t in starts]
        assert all(served[t].kind == forecast_pb2.PRICE_KIND_PUBLISHED for t in starts)
        assert got == pytest.approx(truth.tolist()), "day published with prices missing or torn"
    else:
        assert response.forecast_start_time.ToDatetime(UTC) == CAL.day_start(day)
        assert all(served[t].kind == forecast_pb2.PRICE_KIND_FORECAST for t in starts)
    for p in response.periods:
        assert np.isfinite(p.price_eur_mwh), f"non-finite price at {p.start_time.ToDatetime(UTC)}"
