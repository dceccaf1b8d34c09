"""Live providers over real HTTP: a local server on a free port answers with recorded fixtures
(ENTSO-E A44 documents; an Open-Meteo daily document in the API's schema) and with the errors
the providers must survive (401, 429, 5xx, malformed bodies, a day missing)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from energy.market_calendar import MarketCalendar
from predict_svc.clock import RealClock
from predict_svc.entsoe_api import parse_a44
from predict_svc.live import (
    EntsoePrices,
    FilePrices,
    OpenMeteoDaily,
    ProviderError,
    PublicationPoller,
    apply_day,
    start_live_feed,
)
from predict_svc.runtime import MAX_HORIZON, ZoneMarket
from predict_svc.synthetic import generate_market, load_params
from tests.local_http import answering

FIXTURES = Path(__file__).parent / "fixtures"
A44_60 = (FIXTURES / "entsoe_a44_no1_60min.xml").read_bytes()  # delivery day 2024-03-05
A44_15 = (FIXTURES / "entsoe_a44_no1_15min.xml").read_bytes()  # delivery day 2025-10-02
NO_DATA = (FIXTURES / "entsoe_ack_no_data.xml").read_bytes()
REFUSED = (FIXTURES / "entsoe_ack_bad_interval.xml").read_bytes()
DAILY = (FIXTURES / "open_meteo_daily_no1.json").read_bytes()


class Script:
    """Answers queued per server; every request recorded (path, query)."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[dict[str, str]] = []
        self.lock = threading.Lock()

    def push(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        with self.lock:
            self.answers.append((status, headers or {}, body))


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    def answer(query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with script.lock:
            script.requests.append(query)
            return script.answers.pop(0) if script.answers else (500, {}, b"none queued")

    with answering(answer) as base:
        yield f"{base}/api", script


CAL = MarketCalendar.default()


def entsoe(url: str) -> EntsoePrices:
    return EntsoePrices(token="test-token", base_url=url, calendar=CAL)


def test_entsoe_day_over_http(server: tuple[str, Script]) -> None:
    url, script = server
    script.push(200, A44_60)
    prices = entsoe(url).day_prices("NO1", date(2024, 3, 5))
    assert prices is not None and len(prices) == 24
    assert prices.index[0] == pd.Timestamp("2024-03-04T23:00Z")
    sent = script.requests[0]
    assert sent["documentType"] == "A44" and sent["securityToken"] == "test-token"
    assert sent["periodStart"] == "202403042300" and sent["periodEnd"] == "202403052300"


def test_entsoe_quarter_hour_day(server: tuple[str, Script]) -> None:
    url, script = server
    script.push(200, A44_15)
    prices = entsoe(url).day_prices("NO1", date(2025, 10, 2))
    assert prices is not None and len(prices) == 96


def test_not_published_is_none(server: tuple[str, Script]) -> None:
    url, script = server
    script.push(200, NO_DATA)
    assert entsoe(url).day_prices("NO1", date(2024, 3, 6)) is None


@pytest.mark.parametrize(
    ("status", "body", "headers", "reason", "retry_after"),
    [
        (401, b"<html>Unauthorized</html>", {}, "unauthorized", None),
        (429, b"slow down", {"Retry-After": "120"}, "rate_limited", 120.0),
        (503, b"maintenance", {}, "server_error", None),
        (200, b"<Publication_MarketDocument><TimeSeries>", {}, "malformed", None),
        (400, REFUSED, {}, "refused", None),
    ],
)
def test_entsoe_errors(
    server: tuple[str, Script],
    status: int,
    body: bytes,
    headers: dict[str, str],
    reason: str,
    retry_after: float | None,
) -> None:
    url, script = server
    script.push(status, body, headers)
    with pytest.raises(ProviderError) as caught:
        entsoe(url).day_prices("NO1", date(2024, 3, 5))
    assert caught.value.reason == reason
    assert caught.value.retry_after == retry_after


def test_day_with_periods_missing_is_incomplete(server: tuple[str, Script]) -> None:
    url, script = server
    text = A44_60.decode()
    start = text.index("<Point>", text.index("<position>7</position>") - 40)
    end = text.index("</Point>", start) + len("</Point>")
    script.push(200, (text[:start] + text[end:]).encode())
    with pytest.raises(ProviderError) as caught:
        entsoe(url).day_prices("NO1", date(2024, 3, 5))
    assert caught.value.reason == "incomplete"


def test_no_token_needs_no_network() -> None:
    with pytest.raises(ProviderError) as caught:
        EntsoePrices(token="", base_url="http://127.0.0.1:9/none", calendar=CAL).day_prices(
            "NO1", date(2024, 3, 5)
        )
    assert caught.value.reason == "unauthorized"


def test_poller_backs_off_then_publishes_once(
    server: tuple[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    """Publication slips: 503, 429, not yet, then the day. Each failure is logged and counted,
    waits grow, nothing is published until the whole day is there, then exactly once."""
    url, script = server
    day = date(2024, 3, 5)
    for status, body, headers in [
        (503, b"down", {}),
        (429, b"later", {"Retry-After": "600"}),
        (200, NO_DATA, {}),
        (200, A44_60, {}),
    ]:
        script.push(status, body, headers)
    got: list[tuple[str, date, int]] = []
    poller = PublicationPoller(
        entsoe(url), ("NO1",), {"NO1": day}, lambda z, d, p: got.append((z, d, len(p))), calendar=CAL
    )
    expected = CAL.expected_publication(day)
    assert poller.poll(expected - timedelta(minutes=1)) == expected and not script.requests
    now = expected
    waits = []
    with caplog.at_level(logging.INFO, logger="predict_svc.live"):
        while not got:
            upcoming = poller.poll(now)
            waits.append((upcoming - now).total_seconds())
            now = upcoming
            assert len(waits) < 10
    assert got == [("NO1", day, 24)]
    assert waits[:3] == [60.0, 600.0, 240.0]  # doubling, Retry-After honoured
    assert poller.errors[("NO1", "server_error")] == 1 and poller.errors[("NO1", "rate_limited")] == 1
    assert poller.published == {"NO1": [day]} and poller.next_day["NO1"] == day + timedelta(days=1)
    assert any(r.message == "prices_not_published_yet" for r in caplog.records)
    assert len(script.requests) == 4


def test_poller_survives_provider_bug() -> None:
    class Broken:
        def day_prices(self, zone: str, day: date) -> pd.Series | None:
            raise KeyError("bug")

    poller = PublicationPoller(Broken(), ("NO1",), {"NO1": date(2024, 3, 5)}, lambda *a: None, calendar=CAL)
    now = CAL.expected_publication(date(2024, 3, 5))
    assert poller.poll(now) == now + timedelta(seconds=60)
    assert poller.errors[("NO1", "internal")] == 1 and not poller.published


def test_file_prices(tmp_path: Path) -> None:
    rows = pd.date_range("2024-03-05", periods=24, freq="h", tz="Europe/Oslo")
    frame = pd.DataFrame({"datetime": rows.astype(str), "price_eur_mwh": np.arange(24.0)})
    frame.to_csv(tmp_path / "day_ahead_prices_NO_1.csv", index=False)
    files = FilePrices(tmp_path, CAL)
    prices = files.day_prices("NO1", date(2024, 3, 5))
    assert prices is not None and list(prices) == list(np.arange(24.0))
    assert files.day_prices("NO1", date(2024, 3, 6)) is None
    frame.iloc[:20].to_csv(tmp_path / "day_ahead_prices_NO_1.csv", index=False)
    with pytest.raises(ProviderError, match="incomplete"):
        files.day_prices("NO1", date(2024, 3, 5))


def test_open_meteo_daily_feature(server: tuple[str, Script]) -> None:
    url, script = server
    script.push(200, DAILY)
    issued = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    forecast = OpenMeteoDaily(base_url=url).fetch("NO1", issued)
    sent = script.requests[0]
    assert sent["daily"] == "temperature_2m_mean" and sent["timezone"] == "UTC"
    assert float(sent["latitude"]) == pytest.approx(59.91, abs=0.1)
    hours = np.array(["2026-03-11T05", "2026-03-13T00", "2026-03-20T00"], dtype="datetime64[h]")
    feature = forecast.feature(hours, issued)
    assert feature[0] == pytest.approx(2.4)  # the mean of the day before (2026-03-10)
    assert np.isnan(feature[1])  # a null in the document stays missing, never 0
    assert np.isnan(feature[2])  # beyond the forecast
    with pytest.raises(ProviderError, match="future_issue"):
        forecast.feature(hours, issued - timedelta(hours=1))


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (200, b"{not json", "malformed"),
        (200, json.dumps({"daily": {"time": ["2026-03-10"]}}).encode(), "malformed"),
        (400, json.dumps({"error": True, "reason": "bad latitude"}).encode(), "refused"),
        (502, b"bad gateway", "server_error"),
        (429, b"", "rate_limited"),
    ],
)
def test_open_meteo_errors(server: tuple[str, Script], status: int, body: bytes, reason: str) -> None:
    url, script = server
    script.push(status, body)
    with pytest.raises(ProviderError) as caught:
        OpenMeteoDaily(base_url=url).fetch("NO1", datetime(2026, 3, 10, tzinfo=UTC))
    assert caught.value.reason == reason


def test_published_day_reaches_the_live_market(server: tuple[str, Script]) -> None:
    """The poller's callback writes the day into a live market: before, the day is not
    published (its prices are missing); after, it is, with the document's prices."""
    url, script = server
    day = date(2024, 3, 5)
    frame = generate_market(
        load_params("NO1"), datetime(2024, 2, 20, tzinfo=UTC), datetime(2024, 3, 20, tzinfo=UTC)
    )
    start, end = CAL.day_start(day), CAL.day_end(day)
    frame["price"][frame.pos(start) : frame.pos(end)] = np.nan
    now = CAL.expected_publication(day) + timedelta(minutes=5)
    market = ZoneMarket("NO1", frame, RealClock(now_fn=lambda: now), "live-test", None, CAL, live=True)
    assert market.published_day() == day - timedelta(days=1)
    script.push(200, A44_60)
    poller = PublicationPoller(
        entsoe(url),
        ("NO1",),
        {"NO1": day},
        lambda z, d, p: assert_applied(apply_day(market, d, p)),
        calendar=CAL,
    )
    poller.poll(now)
    assert market.published_day() == day
    document = parse_a44(A44_60)
    assert market.price_at(start) == pytest.approx(document.iloc[0])
    values, flags = market.q.window(start, end)
    assert np.allclose(values, np.repeat(document.to_numpy(), 4)) and flags.all()


def assert_applied(applied: bool) -> None:
    assert applied


def test_day_before_the_grid_is_not_applied() -> None:
    frame = generate_market(
        load_params("NO1"), datetime(2024, 3, 10, tzinfo=UTC), datetime(2024, 3, 30, tzinfo=UTC)
    )
    now = datetime(2024, 3, 12, 12, tzinfo=UTC)
    market = ZoneMarket("NO1", frame, RealClock(now_fn=lambda: now), "live-test", None, CAL, live=True)
    prices = parse_a44(A44_60)  # 2024-03-05: before the grid's first hour
    before = market.q.values.copy()
    assert not apply_day(market, date(2024, 3, 5), prices)
    assert np.array_equal(before, market.q.values, equal_nan=True)


def test_day_past_the_grid_grows_it_copy_on_write() -> None:
    """A live market's data ends with its last published day: the next day lies past the grid
    and is applied by growing it. Nothing a reader holds is written: a snapshot taken before
    keeps its arrays and values (the publication is a swap of new arrays)."""
    day = date(2024, 3, 5)
    frame = generate_market(
        load_params("NO1"), datetime(2024, 2, 1, tzinfo=UTC), CAL.day_end(day - timedelta(days=1))
    )
    now = CAL.expected_publication(day) + timedelta(minutes=5)
    market = ZoneMarket("NO1", frame, RealClock(now_fn=lambda: now), "live-test", None, CAL, live=True)
    before = market.snapshot()  # grows the grid past now: the serving path forecasts into it
    assert before.frame.last >= now + timedelta(hours=MAX_HORIZON)
    assert before.published_day() == day - timedelta(days=1)
    held_price, held_q = before.frame["price"].copy(), before.q.values.copy()
    assert apply_day(market, day, parse_a44(A44_60))
    after = market.snapshot()
    assert after.published_day() == day and before.published_day() == day - timedelta(days=1)
    assert np.array_equal(before.frame["price"], held_price, equal_nan=True)
    assert np.array_equal(before.q.values, held_q, equal_nan=True)
    assert after.price_at(CAL.day_start(day)) == pytest.approx(parse_a44(A44_60).iloc[0])
    assert after.frame.last >= CAL.day_end(day) + timedelta(hours=MAX_HORIZON)


def test_live_feed_thread_publishes_from_files(tmp_path: Path) -> None:
    """The service's feed (EP_PREDICT_PRICE_PROVIDER=file): the poller thread finds the day in
    the file and the live market then counts it as published."""
    day = date(2024, 3, 5)
    frame = generate_market(
        load_params("NO1"), datetime(2024, 2, 20, tzinfo=UTC), datetime(2024, 3, 20, tzinfo=UTC)
    )
    start, end = CAL.day_start(day), CAL.day_end(day)
    frame["price"][frame.pos(start) : frame.pos(end)] = np.nan
    now = CAL.expected_publication(day) + timedelta(minutes=5)
    market = ZoneMarket("NO1", frame, RealClock(now_fn=lambda: now), "live-test", None, CAL, live=True)
    rows = pd.date_range(start, periods=24, freq="h", tz="UTC").tz_convert("Europe/Oslo")
    pd.DataFrame({"datetime": rows.astype(str), "price_eur_mwh": np.arange(24.0) + 100}).to_csv(
        tmp_path / "day_ahead_prices_NO_1.csv", index=False
    )
    assert start_live_feed("none", "", {"NO1": market}, lambda: now) is None
    feed = start_live_feed("file", str(tmp_path), {"NO1": market}, lambda: now)
    assert feed is not None
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while market.published_day() != day and datetime.now(UTC) < deadline:
            feed.stop.wait(0.05)
        assert market.published_day() == day
        assert market.price_at(start) == 100.0
        assert feed.poller.published == {"NO1": [day]} and not feed.poller.errors
    finally:
        feed.stop.set()
        feed.thread.join()
