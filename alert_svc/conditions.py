"""When each rule fires: pure functions from what predict_svc and ingest_svc answered to the alerts
a round raises (the store drops those already raised for the same rule and period).

* price spike: each run of consecutive periods, within the lookahead, whose probability of
  exceeding the threshold (GetPriceForecast's ``exceed_probability``, exactly 0/1 for published
  periods) is at least the rule's; period key = the run's start;
* cheap window: the contiguous window of the rule's duration with the lowest mean price within
  the lookahead, published periods preferred (a window of only published prices is certain, one
  with forecast periods likely); one per local delivery day of the window's start;
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
) -> list[NewAlert]:
    runs: list[list[Period]] = []
    for p in _ahead(periods, now_ms, c.lookahead_hours):
        if p.exceed_probability + 1e-12 < c.min_probability:
            continue
        if runs and runs[-1][-1].end_ms == p.start_ms:
            runs[-1].append(p)
        else:
            runs.append([p])
    out = []
    for run in runs:
        top = max(p.price for p in run)
        chance = max(p.exceed_probability for p in run)
        certain = all(p.published for p in run)
        start, end = run[0].start_ms, run[-1].end_ms
        title = f"Price above {c.threshold_eur_mwh:g} EUR/MWh {_clock(start, tz)}-{_clock(end, tz)[-5:]}"
        message = (
            f"Published prices reach {top:.1f} EUR/MWh."
            if certain
            else f"{chance:.0%} chance the spot price exceeds {c.threshold_eur_mwh:g} EUR/MWh (forecast up to {top:.1f})."
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
                top,
            )
        )
    return out


def cheap_window(
    household_id: str,
    rule_id: str,
    c: pb.CheapWindowCondition,
    periods: list[Period],
    now_ms: int,
    tz: ZoneInfo,
) -> list[NewAlert]:
    ahead = [p for p in _ahead(periods, now_ms, c.lookahead_hours) if p.start_ms >= now_ms]
    best: tuple[bool, float, list[Period]] | None = None  # (not all published, mean, window)
    i = 0
    while i < len(ahead):
        window: list[Period] = []
        minutes = 0
        j = i
        while j < len(ahead) and minutes < c.duration_minutes:
            if window and window[-1].end_ms != ahead[j].start_ms:
                break  # a gap: no contiguous window from i
            window.append(ahead[j])
            minutes += ahead[j].minutes
            j += 1
        if minutes == c.duration_minutes:
            mean = sum(p.price * p.minutes for p in window) / minutes
            key = (not all(p.published for p in window), mean, window)
            if best is None or key[:2] < best[:2]:
                best = key
        i += 1
    if best is None:
        return []
    forecast, mean, window = best
    if c.HasField("max_price_eur_mwh") and mean > c.max_price_eur_mwh:
        return []
    start, end = window[0].start_ms, window[-1].end_ms
    day = datetime.fromtimestamp(start / 1000, tz).date().isoformat()
    hours = c.duration_minutes / 60
    title = f"Cheapest {hours:g} h: {_clock(start, tz)}-{_clock(end, tz)[-5:]}"
    message = f"Mean spot price {mean:.1f} EUR/MWh ({'likely: includes forecast hours' if forecast else 'published prices'})."
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
            mean,
        )
    ]


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
            household_id, rule_id, pb.ALERT_KIND_CAPACITY_STEP, key, now_ms, now_ms, title, message, basis_kw
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
