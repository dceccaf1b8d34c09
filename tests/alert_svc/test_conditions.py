"""When rules fire, from forecast periods, predict_svc's cheapest windows, the capacity basis and the
last reading."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from alert_svc import conditions
from alert_svc.conditions import Period
from common.timestamps import from_ms
from energy.fx import eur_mwh_to_micro_per_kwh
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
    [alert] = conditions.cheap_window("h1", "r1", c, windows, TZ, "EUR")
    assert (alert.period_start_ms, alert.period_end_ms) == (_ms("2026-12-02T02:00"), _ms("2026-12-02T06:00"))
    assert alert.value == 20.5 and alert.kind == pb.ALERT_KIND_CHEAP_WINDOW
    assert alert.period_key == "cheap:2026-12-02"  # once per delivery day
    assert "02:00-06:00" in alert.title and "(published prices)" in alert.message
    assert "not distinguishable" not in alert.message


def test_a_window_reaching_into_the_forecast_says_likely_with_its_band() -> None:
    c = pb.CheapWindowCondition(duration_minutes=120, lookahead_hours=24)
    [alert] = conditions.cheap_window(
        "h1", "r1", c, [_window("2026-12-02T13:00", 2, 30.0, certain=False, band=5)], TZ, "EUR"
    )
    assert "likely: includes forecast hours, 25.0-35.0" in alert.message


def test_a_runner_up_that_is_not_distinguishable_is_named() -> None:
    c = pb.CheapWindowCondition(duration_minutes=120, lookahead_hours=24)
    best = _window("2026-12-02T13:00", 2, 30.0, certain=False, band=5)
    twin = _window("2026-12-02T22:00", 2, 30.4, certain=False, band=5, distinct=False)
    [alert] = conditions.cheap_window("h1", "r1", c, [best, twin], TZ, "EUR")
    assert "Wed 22:00-00:00 is not distinguishable from it (30.4 EUR/MWh): either will do." in alert.message
    # A runner-up of the other certainty (a likely one after the certain best) is not compared.
    certain = _window("2026-12-02T03:00", 2, 40.0)
    [alert] = conditions.cheap_window("h1", "r1", c, [certain, twin], TZ, "EUR")
    assert "not distinguishable" not in alert.message and "published" in alert.message


def test_cheap_window_above_the_households_maximum_does_not_fire() -> None:
    c = pb.CheapWindowCondition(duration_minutes=60, lookahead_hours=4, max_price_eur_mwh=10)
    assert conditions.cheap_window("h1", "r1", c, [_window("2026-12-02T03:00", 1, 20.0)], TZ, "EUR") == []
    c.max_price_eur_mwh = 20
    assert len(conditions.cheap_window("h1", "r1", c, [_window("2026-12-02T03:00", 1, 20.0)], TZ, "EUR")) == 1


def test_no_window_no_alert() -> None:
    c = pb.CheapWindowCondition(duration_minutes=60, lookahead_hours=4)
    assert conditions.cheap_window("h1", "r1", c, [], TZ, "EUR") == []


def test_price_spike_raises_one_alert_per_run_of_likely_periods() -> None:
    prices = [50, 150, 160, 40, 200, 30]
    c = pb.PriceSpikeCondition(threshold_eur_mwh=100, min_probability=0.5, lookahead_hours=6)
    alerts = conditions.price_spikes("h1", "r1", c, _hours(prices, published=6), NOW, TZ, "EUR")
    assert [(a.period_start_ms, a.period_end_ms, a.value) for a in alerts] == [
        (NOW + HOUR, NOW + 3 * HOUR, 160),
        (NOW + 4 * HOUR, NOW + 5 * HOUR, 200),
    ]
    assert len({a.period_key for a in alerts}) == 2
    assert "Published prices reach 160.0" in alerts[0].message


def test_price_spike_respects_the_minimum_probability_and_lookahead() -> None:
    periods = _hours([150, 150, 150], published=0, probability=0.3)
    c = pb.PriceSpikeCondition(threshold_eur_mwh=100, min_probability=0.5, lookahead_hours=3)
    assert conditions.price_spikes("h1", "r1", c, periods, NOW, TZ, "EUR") == []
    c.min_probability = 0.3
    c.lookahead_hours = 1
    [alert] = conditions.price_spikes("h1", "r1", c, periods, NOW, TZ, "EUR")
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


# --- a NOK installation: figures in øre/kWh, converted by predict_svc's converter (energy.fx) ---
# At 11.50 NOK/EUR, 100 EUR/MWh = 1 150 000 µNOK/kWh = 115 øre/kWh (hand-checkable).
FX = Decimal("11.50")


def _nok_hours(prices: list[float], rates: list[Decimal], threshold_micro: int) -> list[Period]:
    """Published hours as predict_svc answers them for a micro threshold: each period's price at its
    day's rate, exceeding when that is above the threshold."""
    out = []
    for i, (p, r) in enumerate(zip(prices, rates, strict=True)):
        micro = eur_mwh_to_micro_per_kwh(p, r)
        out.append(Period(NOW + i * HOUR, 60, p, True, float(micro > threshold_micro), micro))
    return out


def test_a_nok_threshold_speaks_ore_per_kwh_like_the_home_page() -> None:
    c = pb.PriceSpikeCondition(threshold_micro_per_kwh=1_500_000, min_probability=0.5, lookahead_hours=6)
    periods = _nok_hours([100, 140, 160, 120], [FX] * 4, 1_500_000)  # 115, 161, 184, 138 øre
    [alert] = conditions.price_spikes("h1", "r1", c, periods, NOW, TZ, "NOK")
    assert (alert.period_start_ms, alert.period_end_ms) == (NOW + HOUR, NOW + 3 * HOUR)
    assert alert.title == "Price above 150 øre/kWh Wed 01:00-03:00"
    assert alert.message == "Published prices reach 184.0 øre/kWh."
    assert (alert.value, alert.spot_micro_per_kwh, alert.currency) == (160, 1_840_000, "NOK")


def test_the_peak_is_taken_in_the_rules_unit_across_two_days_rates() -> None:
    # 160 EUR/MWh on a day at 11.00 is 176.0 øre; 155 the next day at 11.50 is 178.25 øre: the
    # dearer hour in øre is the cheaper one in EUR/MWh, and a NOK rule reports the øre peak.
    c = pb.PriceSpikeCondition(threshold_micro_per_kwh=1_500_000, lookahead_hours=6, min_probability=0.5)
    periods = _nok_hours([160, 155], [Decimal("11.00"), FX], 1_500_000)
    [alert] = conditions.price_spikes("h1", "r1", c, periods, NOW, TZ, "NOK")
    assert (alert.spot_micro_per_kwh, alert.value) == (1_782_500, 155)
    assert "reach 178.2 øre/kWh" in alert.message  # 178.25 shown to one decimal (banker's .2)
    # An EUR/MWh rule on the same installation keeps its threshold's unit; figures are in øre.
    e = pb.PriceSpikeCondition(threshold_eur_mwh=150, lookahead_hours=6, min_probability=0.5)
    [alert] = conditions.price_spikes("h1", "r1", e, periods, NOW, TZ, "NOK")
    assert alert.title.startswith("Price above 150 EUR/MWh ")
    assert (alert.value, alert.spot_micro_per_kwh) == (160, 1_760_000)
    assert alert.message == "Published prices reach 176.0 øre/kWh."


def test_an_eur_installation_keeps_eur_per_mwh_for_a_micro_threshold() -> None:
    # µEUR/kWh at rate 1: 150 000 µEUR/kWh = 0.15 EUR/kWh = 150 EUR/MWh.
    c = pb.PriceSpikeCondition(threshold_micro_per_kwh=150_000, lookahead_hours=6, min_probability=0.5)
    periods = _nok_hours([100, 160], [Decimal(1)] * 2, 150_000)
    [alert] = conditions.price_spikes("h1", "r1", c, periods, NOW, TZ, "EUR")
    assert alert.title == "Price above 150 EUR/MWh Wed 01:00-02:00"
    assert alert.message == "Published prices reach 160.0 EUR/MWh."
    assert (alert.value, alert.spot_micro_per_kwh, alert.currency) == (160, 160_000, "EUR")


def _nok_window(start: str, hours: float, mean: float, band: float = 0.0) -> forecast_pb2.CheapestWindow:
    w = _window(start, hours, mean, certain=band == 0, band=band)
    w.mean_spot_micro_per_kwh = eur_mwh_to_micro_per_kwh(mean, FX)
    w.low_spot_micro_per_kwh = eur_mwh_to_micro_per_kwh(mean - band, FX)
    w.high_spot_micro_per_kwh = eur_mwh_to_micro_per_kwh(mean + band, FX)
    return w


def test_a_nok_cheap_window_and_its_maximum_in_ore() -> None:
    c = pb.CheapWindowCondition(duration_minutes=120, lookahead_hours=24, max_price_micro_per_kwh=400_000)
    # 40 EUR/MWh = 46 øre/kWh: above a 40 øre maximum, no alert; at a 46 øre maximum, one.
    assert conditions.cheap_window("h1", "r1", c, [_nok_window("2026-12-02T03:00", 2, 40.0)], TZ, "NOK") == []
    c.max_price_micro_per_kwh = 460_000
    [alert] = conditions.cheap_window("h1", "r1", c, [_nok_window("2026-12-02T03:00", 2, 40.0)], TZ, "NOK")
    assert alert.message == "Mean spot price 46.0 øre/kWh (published prices)."
    assert (alert.value, alert.spot_micro_per_kwh, alert.currency) == (40.0, 460_000, "NOK")
    c.ClearField("max_price_micro_per_kwh")
    [alert] = conditions.cheap_window(
        "h1", "r1", c, [_nok_window("2026-12-02T13:00", 2, 30.0, 10)], TZ, "NOK"
    )
    assert "Mean spot price 34.5 øre/kWh (likely: includes forecast hours, 23.0-46.0)." == alert.message


def _facts(alert: conditions.NewAlert) -> pb.AlertFacts:
    return pb.AlertFacts.FromString(alert.facts)


def test_each_alert_carries_the_figures_its_words_are_made_of() -> None:
    # What a client needs to word the alert in its user's language (Alert.facts), the same
    # figures the English title and message state.
    spike = pb.PriceSpikeCondition(threshold_eur_mwh=100, min_probability=0.3, lookahead_hours=1)
    [alert] = conditions.price_spikes(
        "h1", "r1", spike, _hours([150, 150], published=0, probability=0.3), NOW, TZ, "EUR"
    )
    facts = _facts(alert)
    assert (facts.threshold_eur_mwh, facts.threshold_micro_per_kwh, facts.published) == (100, 0, False)
    assert facts.chance == 0.3 and "30% chance" in alert.message
    micro = pb.PriceSpikeCondition(threshold_micro_per_kwh=1_500_000, lookahead_hours=2)
    [alert] = conditions.price_spikes(
        "h1", "r1", micro, _hours([150, 150], published=2, probability=1.0), NOW, TZ, "NOK"
    )
    assert (_facts(alert).threshold_micro_per_kwh, _facts(alert).published) == (1_500_000, True)

    cheap = pb.CheapWindowCondition(duration_minutes=120, lookahead_hours=24)
    best = _window("2026-12-02T13:00", 2, 30.0, certain=False, band=5)
    best.low_spot_micro_per_kwh, best.high_spot_micro_per_kwh = 250_000, 350_000
    twin = _window("2026-12-02T22:00", 2, 30.4, certain=False, band=5, distinct=False)
    twin.mean_spot_micro_per_kwh = 304_000
    [alert] = conditions.cheap_window("h1", "r1", cheap, [best, twin], TZ, "NOK")
    facts = _facts(alert)
    assert (facts.duration_minutes, facts.published) == (120, False)
    assert (facts.low_spot_micro_per_kwh, facts.high_spot_micro_per_kwh) == (250_000, 350_000)
    assert facts.twin_start_time == twin.start_time and facts.twin_end_time == twin.end_time
    assert facts.twin_spot_micro_per_kwh == 304_000

    tariff = load_ratebook().grid("bkk").at(date(2026, 12, 2))
    step = tariff.next_step(4600)
    assert step is not None
    [alert] = conditions.capacity_step(
        "h1", "r1", pb.CapacityStepCondition(approach_percent=90), "2026-12", 4.6, step, NOW, "NOK"
    )
    assert (_facts(alert).step_kw, _facts(alert).step_monthly_nano) == (5.0, step[1])
    assert "320 NOK/month" in alert.message and round(step[1] / 1e9) == 320
