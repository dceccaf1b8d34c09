"""Market calendar, quarter-hour prices, publication (replay / live) and the served price path.

The shared ENTSO-E files end in 2024 (hourly), so quarter-hour days here are built: real hours
expanded to quarters, and hand-made days with a distinct price in every quarter, including the
DST days of 92 and 100 quarters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from energy.market_calendar import MarketCalendar
from predict_svc.clock import RealClock
from predict_svc.market import read_series_hourly
from predict_svc.model import PriceModel
from predict_svc.quarters import QuarterSeries, read_price_quarters
from predict_svc.runtime import AccuracyStore, ZoneMarket, build_path
from predict_svc.synthetic import generate_market, load_params
from tests.predict_svc.conftest import NOW

CAL = MarketCalendar.default()


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(
    ("day", "hours", "periods", "minutes"),
    [
        (date(2024, 3, 31), 23, 23, 60),  # spring forward, hourly market
        (date(2024, 10, 27), 25, 25, 60),
        (date(2025, 9, 30), 24, 24, 60),  # last hourly day
        (date(2025, 10, 1), 24, 96, 15),  # first quarter-hour day
        (date(2026, 3, 29), 23, 92, 15),
        (date(2025, 10, 26), 25, 100, 15),
    ],
)
def test_delivery_days_are_local_days_of_23_24_25_hours(
    day: date, hours: int, periods: int, minutes: int
) -> None:
    assert CAL.day_length(day) == timedelta(hours=hours)
    assert CAL.period_minutes(day) == minutes
    starts = CAL.periods(day)
    assert len(starts) == periods
    assert starts[0] == CAL.day_start(day) and starts[-1] + timedelta(minutes=minutes) == CAL.day_end(day)
    assert CAL.quarters(day) == hours * 4


def test_gate_closure_and_publication_across_both_dst_switches() -> None:
    # Spring 2026: the switch is on 29 March. Day 29's auction is on the 28th (CET, UTC+1);
    # day 30's on the 29th (CEST, UTC+2): 12:00 local is 11:00 and then 10:00 UTC.
    assert CAL.gate_closure(date(2026, 3, 29)) == _utc("2026-03-28T11:00:00+00:00")
    assert CAL.gate_closure(date(2026, 3, 30)) == _utc("2026-03-29T10:00:00+00:00")
    assert CAL.expected_publication(date(2026, 3, 29)) == _utc("2026-03-28T11:45:00+00:00")
    assert CAL.expected_publication(date(2026, 3, 30)) == _utc("2026-03-29T10:45:00+00:00")
    # Autumn 2025: the switch is on 26 October (CEST -> CET).
    assert CAL.gate_closure(date(2025, 10, 26)) == _utc("2025-10-25T10:00:00+00:00")
    assert CAL.gate_closure(date(2025, 10, 27)) == _utc("2025-10-26T11:00:00+00:00")
    assert CAL.expected_publication(date(2025, 10, 27)) == _utc("2025-10-26T11:45:00+00:00")
    # By schedule, tomorrow is published from its publication instant on, not a minute before.
    at = CAL.expected_publication(date(2026, 3, 30))
    assert CAL.published_through_schedule(at - timedelta(minutes=1)) == date(2026, 3, 29)
    assert CAL.published_through_schedule(at) == date(2026, 3, 30)
    at = CAL.expected_publication(date(2025, 10, 27))
    assert CAL.published_through_schedule(at - timedelta(seconds=1)) == date(2025, 10, 26)
    assert CAL.published_through_schedule(at) == date(2025, 10, 27)


def test_times_are_configurable() -> None:
    late = MarketCalendar.default(gate_closure="11:30", publication="13:10")
    assert late.gate_closure(date(2026, 1, 15)) == _utc("2026-01-14T10:30:00+00:00")
    assert late.expected_publication(date(2026, 1, 15)) == _utc("2026-01-14T12:10:00+00:00")
    with pytest.raises(ValueError, match="HH:MM"):
        MarketCalendar.default(publication="noon")


def _csv(path: Path, rows: list[tuple[str, float]]) -> Path:
    path.write_text("datetime,price_eur_mwh\n" + "".join(f"{t},{v}\n" for t, v in rows))
    return path


def _quarter_rows(day: date, base: float) -> list[tuple[str, float]]:
    """A hand-made quarter-hour day: every quarter its own price (base + index)."""
    return [
        (t.astimezone(CAL.day_start(day).tzinfo).isoformat(), base + i)
        for i, t in enumerate(CAL.periods(day))
    ]


@pytest.mark.parametrize(
    ("day", "count"), [(date(2026, 3, 29), 92), (date(2025, 10, 26), 100), (date(2025, 11, 3), 96)]
)
def test_hand_made_quarter_days_keep_every_quarter(tmp_path: Path, day: date, count: int) -> None:
    rows = _quarter_rows(day, 50.0)
    assert len(rows) == count
    series = read_price_quarters(_csv(tmp_path / "q.csv", rows))
    values, hourly = series.window(CAL.day_start(day), CAL.day_end(day))
    np.testing.assert_array_equal(values, 50.0 + np.arange(count))
    assert not hourly.any()
    # The hourly view is the mean of each hour's four quarters, and equals the loader's.
    hours = series.hourly_mean()
    loader = read_series_hourly(tmp_path / "q.csv", {"price_eur_mwh": "price"})
    expected = (50.0 + np.arange(count)).reshape(-1, 4).mean(axis=1)
    np.testing.assert_allclose(hours["price"], expected)
    np.testing.assert_allclose(loader["price"], expected)


def test_real_hours_expand_to_four_equal_quarters(entsoe_dir: Path, tmp_path: Path) -> None:
    """Shared hourly data (2024) mixed with a hand-made quarter-hour day after it."""
    real = (entsoe_dir / "day_ahead_prices_NO_1.csv").read_text().splitlines()
    head, body = real[0], real[-48:]
    quarter_day = date(2025, 10, 26)
    text = (
        "\n".join([head, *body]) + "\n" + "".join(f"{t},{v}\n" for t, v in _quarter_rows(quarter_day, 10.0))
    )
    path = tmp_path / "mixed.csv"
    path.write_text(text)
    series = read_price_quarters(path)
    hourly = read_series_hourly(path, {"price_eur_mwh": "price"})
    first_hours = hourly["price"][:48]
    values, flags = series.window(
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=int(series.start.astype(np.int64))),
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(minutes=int(series.start.astype(np.int64)) + 48 * 60),
    )
    np.testing.assert_array_equal(values, np.repeat(first_hours, 4))
    assert flags[np.isfinite(values)].all() and np.isfinite(values).sum() >= 4 * 40
    q, qflags = series.window(CAL.day_start(quarter_day), CAL.day_end(quarter_day))
    np.testing.assert_array_equal(q, 10.0 + np.arange(100))
    assert not qflags.any()


def _market(now: datetime, live: bool = False, quarters: QuarterSeries | None = None) -> ZoneMarket:
    end = NOW.floor("h") + timedelta(days=20)
    frame = generate_market(load_params("NO1"), end - timedelta(days=240), end, seed=42)
    return ZoneMarket("NO1", frame, RealClock(now_fn=lambda: now), "synthetic", quarters, CAL, live=live)


def test_replay_publishes_a_whole_day_at_its_publication_time() -> None:
    today = CAL.delivery_day(NOW.to_pydatetime())
    tomorrow = today + timedelta(days=1)
    at = CAL.expected_publication(tomorrow)
    before, after = _market(at - timedelta(minutes=1)), _market(at)
    assert before.published_end() == CAL.day_end(today)
    assert after.published_end() == CAL.day_end(tomorrow)  # all of tomorrow at once, not an hour
    origin = before.published_end() - timedelta(hours=1)
    known = before.known(origin, history_hours=48, hours_after=30)
    assert np.isfinite(known["price"][:49]).all() and np.isnan(known["price"][49:]).all()


def test_live_publication_follows_the_data_not_the_clock() -> None:
    now = CAL.expected_publication(date(2026, 3, 11)) + timedelta(hours=2)  # 14:45 on the 10th
    market = _market(now)
    q = market.q
    late = q.values.copy()
    late[q.pos(CAL.day_start(date(2026, 3, 11))) + 40] = np.nan  # one quarter of tomorrow missing
    slipped = _market(now, live=True, quarters=QuarterSeries(q.start, late, q.hourly))
    assert slipped.published_day() == date(2026, 3, 10)  # the clock says published; the data does not
    early = _market(now - timedelta(hours=5), live=True, quarters=q)  # 09:45, results already in
    assert early.published_day() == date(2026, 3, 11)


def test_path_serves_published_periods_exactly_and_forecasts_only_the_rest(small_model: PriceModel) -> None:
    now = NOW.to_pydatetime()
    base = _market(now)
    q = base.q
    # Today as a hand-made quarter-hour day: every quarter its own price.
    today = CAL.delivery_day(now)
    values, hourly = q.values.copy(), q.hourly.copy()
    lo = q.pos(CAL.day_start(today))
    distinct = 40.0 + np.arange(96) * 0.5
    values[lo : lo + 96] = distinct
    hourly[lo : lo + 96] = False
    market = _market(now, quarters=QuarterSeries(q.start, values, hourly))
    path = build_path(market, small_model, now)
    pub_end = market.published_end(now)
    n_pub = int((pub_end - path.start) // timedelta(minutes=15))
    assert path.q_published[:n_pub].all() and not path.q_published[n_pub:].any()
    np.testing.assert_array_equal(path.q_p50[:96], distinct)  # exact, not averaged away
    np.testing.assert_array_equal(path.q_p10[:n_pub], path.q_p50[:n_pub])
    assert not path.q_derived[:96].any() and path.q_derived[n_pub:].all()
    # The forecast starts at the first unpublished period and covers 7 whole delivery days.
    first = path.forecast.target_times[0].astype("datetime64[m]")
    assert first == np.datetime64(pub_end.replace(tzinfo=None), "m")
    assert path.end == CAL.day_end(path.published_day + timedelta(days=7))
    assert len(path.forecast.p50) == int((path.end - pub_end) // timedelta(hours=1))
    assert np.isfinite(path.forecast.p50).all()
    assert (path.forecast.p10 <= path.forecast.p50).all() and (path.forecast.p50 <= path.forecast.p90).all()
    # Forecast quarters repeat their hour.
    fq = path.q_p50[n_pub:].reshape(-1, 4)
    assert (fq == fq[:, :1]).all()


def test_accuracy_survives_a_restart(tmp_path: Path, small_model: PriceModel) -> None:
    market = _market(NOW.to_pydatetime())
    db = tmp_path / "state" / "accuracy.sqlite3"
    store = AccuracyStore(db, capacity_hours=24 * 7)
    stored = store.seed(market, small_model, days=5)
    assert stored > 0
    scores = store.score(market, 24 * 5)
    assert [s.horizon_day for s in scores][:3] == [1, 2, 3]
    day1 = scores[0]
    assert day1.hours > 0 and day1.mae > 0 and day1.naive_mae > 0
    store.close()
    again = AccuracyStore(db, capacity_hours=24 * 7)
    assert again.score(market, 24 * 5) == scores  # same rows, same scores after the restart
    assert again.seed(market, small_model, days=5) == 0  # nothing issued twice
