"""When each rule fires: pure functions from what predict_svc and ingest_svc answered to the alerts
a round raises (the store drops those already raised for the same rule and period).

* price spike: each run of consecutive periods, within the lookahead, whose probability of
  exceeding the threshold (GetPriceForecast's ``exceed_probability``, exactly 0/1 for published
  periods) is at least the rule's; period key = the run's start;
* cheap window: the first window predict_svc's FindCheapestWindows answers for the rule's
  duration and lookahead (it puts windows of published prices first, certain, then ones reaching
  into the forecast, likely; alert_svc does not search windows itself), saying so when the
  runner-up is not distinguishable from it; one per local delivery day of the window's start;
* capacity step: this month's capacity basis (mean of the three highest daily hourly peaks) at or
  above the rule's share of the next dearer step of the household's grid tariff
  (energy/rates/<rule set>/grid/*.toml); once per month and step;
* meter silent: the newest reading is older than the rule's minutes; once per silence (keyed by
  the time of the last reading).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from alert_svc.prices import micro_shown, price_unit, shown
from alert_svc.store import NewAlert
from energypulse.alert.v1 import alert_pb2 as pb
from energypulse.prediction.v1 import forecast_pb2

__all__ = ["Period", "capacity_step", "cheap_window", "meter_silent", "periods_of", "price_spikes"]


@dataclass(frozen=True)
class Period:
    start_ms: int
    minutes: int
    price: float
    published: bool
    exceed_probability: float
    spot_micro: int = 0  # the price in µ of the installation's currency per kWh (predict_svc's)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.minutes * 60_000


def periods_of(response_periods: list[forecast_pb2.PricePeriod]) -> list[Period]:
    return [
        Period(
            p.start_time.seconds * 1000,
            p.duration_minutes,
            p.price_eur_mwh,
            p.kind == forecast_pb2.PRICE_KIND_PUBLISHED,
            p.exceed_probability,
            p.spot_micro_per_kwh,
        )
        for p in response_periods
    ]


def _clock(ms: int, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(ms / 1000, tz).strftime("%a %H:%M")


def _ahead(periods: list[Period], now_ms: int, hours: int) -> list[Period]:
    end = now_ms + hours * 3_600_000
    return [p for p in sorted(periods, key=lambda p: p.start_ms) if p.end_ms > now_ms and p.start_ms < end]


def price_spikes(
    household_id: str,
    rule_id: str,
    c: pb.PriceSpikeCondition,
    periods: list[Period],
    now_ms: int,
    tz: ZoneInfo,
    currency: str,
) -> list[NewAlert]:
    """Texts in the installation's :func:`~alert_svc.prices.price_unit`; the threshold as the rule
    gives it (an EUR/MWh one stays EUR/MWh: its value in øre differs from day to day)."""
    runs: list[list[Period]] = []
    for p in _ahead(periods, now_ms, c.lookahead_hours):
        if p.exceed_probability + 1e-12 < c.min_probability:
            continue
        if runs and runs[-1][-1].end_ms == p.start_ms:
            runs[-1].append(p)
        else:
            runs.append([p])
    unit = price_unit(currency)
    micro = c.HasField("threshold_micro_per_kwh")
    threshold = (
        f"{micro_shown(c.threshold_micro_per_kwh, currency):g} {unit}"
        if micro
        else f"{c.threshold_eur_mwh:g} EUR/MWh"
    )
    out = []
    for run in runs:
        # The peak in the rule's own unit (across days the two orders can differ by the rate).
        peak = max(run, key=lambda p: (p.spot_micro, p.price) if micro else (p.price, p.spot_micro))
        top = shown(peak.spot_micro, peak.price, currency)
        chance = max(p.exceed_probability for p in run)
        certain = all(p.published for p in run)
        start, end = run[0].start_ms, run[-1].end_ms
        title = f"Price above {threshold} {_clock(start, tz)}-{_clock(end, tz)[-5:]}"
        message = (
            f"Published prices reach {top:.1f} {unit}."
            if certain
            else f"{chance:.0%} chance the spot price exceeds {threshold} (forecast up to {top:.1f} {unit})."
        )
        out.append(
            NewAlert(
                household_id,
                rule_id,
                pb.ALERT_KIND_PRICE_SPIKE,
                f"spike:{start}",
                start,
                end,
                title,
                message,
                peak.price,
                peak.spot_micro,
                currency,
                pb.AlertFacts(
                    threshold_micro_per_kwh=c.threshold_micro_per_kwh if micro else 0,
                    threshold_eur_mwh=0.0 if micro else c.threshold_eur_mwh,
                    chance=chance,
                    published=certain,
                ).SerializeToString(),
            )
        )
    return out


def cheap_window(
    household_id: str,
    rule_id: str,
    c: pb.CheapWindowCondition,
    windows: list[forecast_pb2.CheapestWindow],
    tz: ZoneInfo,
    currency: str,
) -> list[NewAlert]:
    """The alert for predict_svc's answer to FindCheapestWindows (certain windows first, then
    likely ones; the best first within each): the first window, unless dearer than the rule's
    maximum. When the runner-up of the same certainty is not distinguishable from it (their
    forecast bands overlap, or exact prices are equal), the alert says either will do."""
    if not windows:
        return []
    best = windows[0]
    if c.HasField("max_price_eur_mwh") and best.mean_price_eur_mwh > c.max_price_eur_mwh:
        return []
    if c.HasField("max_price_micro_per_kwh") and best.mean_spot_micro_per_kwh > c.max_price_micro_per_kwh:
        return []
    unit = price_unit(currency)
    start, end = _window_ms(best)
    certain = best.certainty == forecast_pb2.CHEAPEST_CERTAINTY_CERTAIN
    day = datetime.fromtimestamp(start / 1000, tz).date().isoformat()
    hours = c.duration_minutes / 60
    title = f"Cheapest {hours:g} h: {_clock(start, tz)}-{_clock(end, tz)[-5:]}"
    mean = shown(best.mean_spot_micro_per_kwh, best.mean_price_eur_mwh, currency)
    if certain:
        message = f"Mean spot price {mean:.1f} {unit} (published prices)."
    else:
        low = shown(best.low_spot_micro_per_kwh, best.low_price_eur_mwh, currency)
        high = shown(best.high_spot_micro_per_kwh, best.high_price_eur_mwh, currency)
        message = (
            f"Mean spot price {mean:.1f} {unit} (likely: includes forecast hours, {low:.1f}-{high:.1f})."
        )
    twin = next(
        (w for w in windows[1:] if w.certainty == best.certainty and not w.distinguishable_from_best), None
    )
    facts = pb.AlertFacts(
        published=certain,
        duration_minutes=c.duration_minutes,
        low_spot_micro_per_kwh=0 if certain else best.low_spot_micro_per_kwh,
        high_spot_micro_per_kwh=0 if certain else best.high_spot_micro_per_kwh,
    )
    if twin is not None:
        t_start, t_end = _window_ms(twin)
        facts.twin_start_time.CopyFrom(twin.start_time)
        facts.twin_end_time.CopyFrom(twin.end_time)
        facts.twin_spot_micro_per_kwh = twin.mean_spot_micro_per_kwh
        message += (
            f" {_clock(t_start, tz)}-{_clock(t_end, tz)[-5:]} is not distinguishable from it"
            f" ({shown(twin.mean_spot_micro_per_kwh, twin.mean_price_eur_mwh, currency):.1f} {unit}):"
            " either will do."
        )
    return [
        NewAlert(
            household_id,
            rule_id,
            pb.ALERT_KIND_CHEAP_WINDOW,
            f"cheap:{day}",
            start,
            end,
            title,
            message,
            best.mean_price_eur_mwh,
            best.mean_spot_micro_per_kwh,
            currency,
            facts.SerializeToString(),
        )
    ]


def _window_ms(w: forecast_pb2.CheapestWindow) -> tuple[int, int]:
    return w.start_time.seconds * 1000, w.end_time.seconds * 1000


def capacity_step(
    household_id: str,
    rule_id: str,
    c: pb.CapacityStepCondition,
    month: str,
    basis_kw: float,
    next_step: tuple[int, int] | None,
    now_ms: int,
    currency: str,
) -> list[NewAlert]:
    """``next_step``: (lower bound in Wh, monthly amount in nano-units) of the next dearer step."""
    if next_step is None:
        return []
    bound_kw = next_step[0] / 1000
    if basis_kw < bound_kw * c.approach_percent / 100:
        return []
    amount = next_step[1] / 1e9
    title = f"Peak {basis_kw:.1f} kW: {basis_kw / bound_kw:.0%} of the {bound_kw:g} kW capacity step"
    message = (
        f"This month's capacity basis (mean of the three highest daily peaks) is {basis_kw:.2f} kW; "
        f"from {bound_kw:g} kW the grid capacity charge rises to {amount:.0f} {currency}/month (ex VAT). "
        "Spread heavy loads over the day to stay below it."
    )
    key = f"capacity:{month}:{next_step[0]}"
    return [
        NewAlert(
            household_id,
            rule_id,
            pb.ALERT_KIND_CAPACITY_STEP,
            key,
            now_ms,
            now_ms,
            title,
            message,
            basis_kw,
            currency=currency,
            facts=pb.AlertFacts(step_kw=bound_kw, step_monthly_nano=next_step[1]).SerializeToString(),
        )
    ]


def meter_silent(
    household_id: str,
    rule_id: str,
    c: pb.MeterSilentCondition,
    last_read_ms: int | None,
    now_ms: int,
    tz: ZoneInfo,
) -> list[NewAlert]:
    if last_read_ms is None:
        return []  # never reported: nothing stopped
    silent = (now_ms - last_read_ms) / 60_000
    if silent < c.silent_minutes:
        return []
    title = f"Your meter stopped reporting ({silent:.0f} min)"
    message = f"The last reading arrived {_clock(last_read_ms, tz)}. Check the meter's power and network."
    return [
        NewAlert(
            household_id,
            rule_id,
            pb.ALERT_KIND_METER_SILENT,
            f"silent:{last_read_ms}",
            last_read_ms,
            now_ms,
            title,
            message,
            silent,
        )
    ]
