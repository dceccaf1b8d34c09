"""When rules fire, from forecast periods, predict_svc's cheapest windows, the capacity basis and the
last reading."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from alert_svc import conditions
from alert_svc.conditions import Period
from common.timestamps import from_ms
from energy.ratebook import load_ratebook
from energypulse.alert.v1 import alert_pb2 as pb
from energypulse.prediction.v1 import forecast_pb2

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


def _window(
    start: str, hours: float, mean: float, certain: bool = True, band: float = 0.0, distinct: bool = True
) -> forecast_pb2.CheapestWindow:
    begin = _ms(start)
    return forecast_pb2.CheapestWindow(
        start_time=from_ms(begin),
        end_time=from_ms(begin + int(hours * HOUR)),
        mean_price_eur_mwh=mean,
        low_price_eur_mwh=mean - band,
        high_price_eur_mwh=mean + band,
        certainty=forecast_pb2.CHEAPEST_CERTAINTY_CERTAIN
        if certain
        else forecast_pb2.CHEAPEST_CERTAINTY_LIKELY,
        distinguishable_from_best=distinct,
        published_share=1.0 if certain else 0.5,
    )


def test_an_ev_needing_four_hours_is_told_predict_svcs_best_window() -> None:
    # FindCheapestWindows' answer (certain windows first): the alert is its first window.
    c = pb.CheapWindowCondition(duration_minutes=240, lookahead_hours=12)
    windows = [_window("2026-12-02T02:00", 4, 20.5), _window("2026-12-02T07:00", 4, 60.0)]
    [alert] = conditions.cheap_window("h1", "r1", c, windows, TZ)
    assert (alert.period_start_ms, alert.period_end_ms) == (_ms("2026-12-02T02:00"), _ms("2026-12-02T06:00"))
    assert alert.value == 20.5 and alert.kind == pb.ALERT_KIND_CHEAP_WINDOW
    assert alert.period_key == "cheap:2026-12-02"  # once per delivery day
    assert "02:00-06:00" in alert.title and "(published prices)" in alert.message
    assert "not distinguishable" not in alert.message


def test_a_window_reaching_into_the_forecast_says_likely_with_its_band() -> None:
    c = pb.CheapWindowCondition(duration_minutes=120, lookahead_hours=24)
    [alert] = conditions.cheap_window(
        "h1", "r1", c, [_window("2026-12-02T13:00", 2, 30.0, certain=False, band=5)], TZ
    )
    assert "likely: includes forecast hours, 25.0-35.0" in alert.message


def test_a_runner_up_that_is_not_distinguishable_is_named() -> None:
    c = pb.CheapWindowCondition(duration_minutes=120, lookahead_hours=24)
    best = _window("2026-12-02T13:00", 2, 30.0, certain=False, band=5)
    twin = _window("2026-12-02T22:00", 2, 30.4, certain=False, band=5, distinct=False)
    [alert] = conditions.cheap_window("h1", "r1", c, [best, twin], TZ)
    assert "Wed 22:00-00:00 is not distinguishable from it (30.4 EUR/MWh): either will do." in alert.message
    # A runner-up of the other certainty (a likely one after the certain best) is not compared.
    certain = _window("2026-12-02T03:00", 2, 40.0)
    [alert] = conditions.cheap_window("h1", "r1", c, [certain, twin], TZ)
    assert "not distinguishable" not in alert.message and "published" in alert.message


def test_cheap_window_above_the_households_maximum_does_not_fire() -> None:
    c = pb.CheapWindowCondition(duration_minutes=60, lookahead_hours=4, max_price_eur_mwh=10)
    assert conditions.cheap_window("h1", "r1", c, [_window("2026-12-02T03:00", 1, 20.0)], TZ) == []
    c.max_price_eur_mwh = 20
    assert len(conditions.cheap_window("h1", "r1", c, [_window("2026-12-02T03:00", 1, 20.0)], TZ)) == 1


def test_no_window_no_alert() -> None:
    c = pb.CheapWindowCondition(duration_minutes=60, lookahead_hours=4)
    assert conditions.cheap_window("h1", "r1", c, [], TZ) == []


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
