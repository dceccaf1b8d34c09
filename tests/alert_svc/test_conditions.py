"""When rules fire, from forecast periods, the capacity basis and the last reading."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from alert_svc import conditions
from alert_svc.conditions import Period
from energy.ratebook import load_ratebook
from energypulse.alert.v1 import alert_pb2 as pb

TZ = ZoneInfo("Europe/Oslo")
HOUR = 3_600_000


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp() * 1000)


NOW = _ms("2026-12-02T00:00")


def _hours(
    prices: list[float], published: int, start: int = NOW, probability: float | None = None
) -> list[Period]:
    return [
        Period(
            start + i * HOUR, 60, p, i < published, probability if probability is not None else float(p > 100)
        )
        for i, p in enumerate(prices)
    ]


def test_ev_needing_four_hours_gets_the_cheapest_contiguous_window() -> None:
    # 00:00 ... 11:00; the cheapest four contiguous hours are 02:00-06:00 (not the four cheapest hours).
    prices = [50, 48, 20, 21, 19, 22, 60, 18, 70, 80, 90, 95]
    c = pb.CheapWindowCondition(duration_minutes=240, lookahead_hours=12)
    [alert] = conditions.cheap_window("h1", "r1", c, _hours(prices, published=12), NOW, TZ)
    assert (alert.period_start_ms, alert.period_end_ms) == (_ms("2026-12-02T02:00"), _ms("2026-12-02T06:00"))
    assert alert.value == (20 + 21 + 19 + 22) / 4
    assert alert.period_key == "cheap:2026-12-02"  # once per delivery day
    assert "02:00-06:00" in alert.title and "published" in alert.message


def test_a_window_of_published_prices_is_preferred_to_a_cheaper_forecast_one() -> None:
    prices = [30, 30, 90, 90, 5, 5]
    c = pb.CheapWindowCondition(duration_minutes=120, lookahead_hours=6)
    [alert] = conditions.cheap_window("h1", "r1", c, _hours(prices, published=2), NOW, TZ)
    assert alert.period_start_ms == NOW and alert.value == 30


def test_cheap_window_above_the_households_maximum_does_not_fire() -> None:
    c = pb.CheapWindowCondition(duration_minutes=60, lookahead_hours=4, max_price_eur_mwh=10)
    assert conditions.cheap_window("h1", "r1", c, _hours([50, 40, 30, 20], 4), NOW, TZ) == []


def test_quarter_hour_periods_make_windows_of_any_multiple_of_15_minutes() -> None:
    periods = [Period(NOW + i * 900_000, 15, p, True, 0.0) for i, p in enumerate([9, 1, 2, 9, 9])]
    [alert] = conditions.cheap_window(
        "h1", "r1", pb.CheapWindowCondition(duration_minutes=30, lookahead_hours=2), periods, NOW, TZ
    )
    assert alert.period_start_ms == NOW + 900_000 and alert.value == 1.5


def test_price_spike_raises_one_alert_per_run_of_likely_periods() -> None:
    prices = [50, 150, 160, 40, 200, 30]
    c = pb.PriceSpikeCondition(threshold_eur_mwh=100, min_probability=0.5, lookahead_hours=6)
    alerts = conditions.price_spikes("h1", "r1", c, _hours(prices, published=6), NOW, TZ)
    assert [(a.period_start_ms, a.period_end_ms, a.value) for a in alerts] == [
        (NOW + HOUR, NOW + 3 * HOUR, 160),
        (NOW + 4 * HOUR, NOW + 5 * HOUR, 200),
    ]
    assert len({a.period_key for a in alerts}) == 2
    assert "Published prices reach 160.0" in alerts[0].message


def test_price_spike_respects_the_minimum_probability_and_lookahead() -> None:
    periods = _hours([150, 150, 150], published=0, probability=0.3)
    c = pb.PriceSpikeCondition(threshold_eur_mwh=100, min_probability=0.5, lookahead_hours=3)
    assert conditions.price_spikes("h1", "r1", c, periods, NOW, TZ) == []
    c.min_probability = 0.3
    c.lookahead_hours = 1
    [alert] = conditions.price_spikes("h1", "r1", c, periods, NOW, TZ)
    assert alert.period_end_ms == NOW + HOUR and "30% chance" in alert.message


def test_capacity_warning_uses_the_next_step_of_the_configured_tariff() -> None:
    tariff = load_ratebook().grid("bkk").at(date(2026, 12, 2))
    c = pb.CapacityStepCondition(approach_percent=90)
    # BKK: the 2-5 kW step is followed by 5-10 kW; at 4.6 kW the basis is 92 % of 5 kW.
    [alert] = conditions.capacity_step("h1", "r1", c, "2026-12", 4.6, tariff.next_step(4600), NOW, "NOK")
    assert alert.period_key == "capacity:2026-12:5000"
    assert "5 kW" in alert.title and "320 NOK/month" in alert.message
    assert conditions.capacity_step("h1", "r1", c, "2026-12", 4.4, tariff.next_step(4400), NOW, "NOK") == []
    # No dearer step above: nothing to warn about.
    assert conditions.capacity_step("h1", "r1", c, "2026-12", 24.0, tariff.next_step(24000), NOW, "NOK") == []


def test_meter_silence_fires_once_per_silence() -> None:
    c = pb.MeterSilentCondition(silent_minutes=30)
    last = NOW - 45 * 60_000
    [alert] = conditions.meter_silent("h1", "r1", c, last, NOW, TZ)
    assert alert.period_key == f"silent:{last}" and round(alert.value) == 45
    assert conditions.meter_silent("h1", "r1", c, NOW - 10 * 60_000, NOW, TZ) == []
    assert conditions.meter_silent("h1", "r1", c, None, NOW, TZ) == []  # never reported
