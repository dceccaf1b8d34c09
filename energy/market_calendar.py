"""The day-ahead market's calendar: delivery days, their periods, gate closure and publication.

The rules are versioned configuration (``energy/rules/day_ahead_market.json``: source and
validity of each version), never constants in code. What the calendar answers:

* a *delivery day* is a local CET/CEST day (:data:`energy.localtime.LOCAL_TZ`, which keeps the
  same offsets) of 23, 24 or 25 hours; its periods are the market time unit of the rule valid
  on that day: 60 minutes before 2025-10-01, 15 minutes since (92 / 96 / 100 quarters);
* bids for day ``D`` close at the *gate closure* (default 12:00 local on ``D - 1``) and the
  results are *expected* at the publication time (default 12:45 local on ``D - 1``); the
  day-ahead load forecast of ``D`` is out at 10:00 local on ``D - 1``
  (:meth:`MarketCalendar.load_forecast_release`), so after the auction of ``D`` the next day's
  is not known until the next morning;
* which days are published. Two policies, because a clock time is only an expectation:

  - :meth:`MarketCalendar.published_through_schedule`: replay and synthetic markets, whose
    data exists in advance, publish a whole delivery day at its publication time (never hour
    by hour);
  - :meth:`MarketCalendar.published_through_data`: live, a day counts as published when its
    results have arrived (every period of the day present), whatever the clock says, so a
    late publication is a late publication and an early one is used early.

Gate closure and publication times may be overridden (``EP_MARKET_GATE_CLOSURE``,
``EP_MARKET_PUBLICATION``, read by the service's config); the period length always comes from
the rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path

from energy.localtime import LOCAL_TZ, local_date, zone

__all__ = [
    "DEFAULT_RULES",
    "QUARTER",
    "MarketCalendar",
    "MarketRule",
    "load_rules",
    "parse_hhmm",
]

DEFAULT_RULES = Path(__file__).with_name("rules") / "day_ahead_market.json"
QUARTER = timedelta(minutes=15)


@dataclass(frozen=True)
class MarketRule:
    """One version of the rules, valid for delivery days in ``[valid_from, valid_to)``."""

    valid_from: date
    valid_to: date | None
    period_minutes: int
    gate_closure: time
    publication: time
    # When the day-ahead load (and wind/solar) forecast of D is out, local on D-1.
    load_forecast: time

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)


def parse_hhmm(text: str) -> time:
    """``"12:45"`` -> ``time(12, 45)`` (ValueError otherwise)."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"bad time of day {text!r}; expected HH:MM") from exc


@lru_cache(maxsize=8)
def load_rules(path: Path = DEFAULT_RULES) -> tuple[str, tuple[MarketRule, ...]]:
    """(market time zone, rule versions oldest first) from a rules file."""
    doc = json.loads(Path(path).read_text())
    rules = []
    for item in doc["versions"]:
        minutes = int(item["period_minutes"])
        if minutes not in (15, 30, 60):
            raise ValueError(f"{path}: period_minutes must be 15, 30 or 60, got {minutes}")
        rules.append(
            MarketRule(
                valid_from=date.fromisoformat(item["valid_from"]),
                valid_to=date.fromisoformat(item["valid_to"]) if item.get("valid_to") else None,
                period_minutes=minutes,
                gate_closure=parse_hhmm(item["gate_closure_local"]),
                publication=parse_hhmm(item["publication_local"]),
                load_forecast=parse_hhmm(item["load_forecast_local"]),
            )
        )
    rules.sort(key=lambda r: r.valid_from)
    return str(doc.get("market_time_zone", LOCAL_TZ)), tuple(rules)


@dataclass(frozen=True)
class MarketCalendar:
    """Delivery days and publication of the day-ahead market (aware UTC datetimes in and out)."""

    rules: tuple[MarketRule, ...]
    tz: str = LOCAL_TZ
    gate_closure_override: time | None = None
    publication_override: time | None = None

    @classmethod
    def default(
        cls, gate_closure: str = "", publication: str = "", path: Path = DEFAULT_RULES
    ) -> MarketCalendar:
        """The calendar of the rules file, with optional ``HH:MM`` overrides ("" = the rules')."""
        tz, rules = load_rules(path)
        return cls(
            rules,
            tz,
            parse_hhmm(gate_closure) if gate_closure else None,
            parse_hhmm(publication) if publication else None,
        )

    # -- days ----------------------------------------------------------------------------------
    def rule(self, day: date) -> MarketRule:
        for rule in reversed(self.rules):
            if rule.covers(day):
                return rule
        raise ValueError(f"no market rule covers delivery day {day}")

    def delivery_day(self, instant: datetime) -> date:
        """The delivery day holding ``instant``."""
        return local_date(instant, self.tz)

    def day_start(self, day: date) -> datetime:
        """Local midnight starting ``day``, in UTC."""
        return datetime(day.year, day.month, day.day, tzinfo=zone(self.tz)).astimezone(UTC)

    def day_end(self, day: date) -> datetime:
        """Local midnight ending ``day``, in UTC."""
        return self.day_start(day + timedelta(days=1))

    def day_length(self, day: date) -> timedelta:
        """23, 24 or 25 hours."""
        return self.day_end(day) - self.day_start(day)

    def period_minutes(self, day: date) -> int:
        return self.rule(day).period_minutes

    def periods(self, day: date) -> list[datetime]:
        """Starts (UTC) of the market periods of ``day``."""
        step = timedelta(minutes=self.period_minutes(day))
        start, end = self.day_start(day), self.day_end(day)
        count = (end - start) // step
        return [start + i * step for i in range(count)]

    def quarters(self, day: date) -> int:
        """Quarter hours in ``day``: 92, 96 or 100."""
        return self.day_length(day) // QUARTER

    # -- auction -------------------------------------------------------------------------------
    def _on_previous_day(self, day: date, at: time) -> datetime:
        before = day - timedelta(days=1)
        wall = datetime.combine(before, at, tzinfo=zone(self.tz))
        return wall.astimezone(UTC)

    def gate_closure(self, day: date) -> datetime:
        """When bids for delivery day ``day`` close (on ``day - 1``), UTC."""
        return self._on_previous_day(day, self.gate_closure_override or self.rule(day).gate_closure)

    def expected_publication(self, day: date) -> datetime:
        """When the results for ``day`` are expected (on ``day - 1``), UTC."""
        return self._on_previous_day(day, self.publication_override or self.rule(day).publication)

    def load_forecast_release(self, day: date) -> datetime:
        """When the day-ahead load (and wind/solar) forecast of ``day`` is out (on ``day - 1``),
        UTC: after ``day - 1``'s own prices, before ``day``'s gate closure."""
        return self._on_previous_day(day, self.rule(day).load_forecast)

    def published_through_schedule(self, now: datetime) -> date:
        """The last delivery day published at ``now`` when days publish at their scheduled time
        (replay, synthetic): today, or tomorrow once its publication time has passed."""
        today = self.delivery_day(now)
        tomorrow = today + timedelta(days=1)
        return tomorrow if now >= self.expected_publication(tomorrow) else today

    def published_through_data(self, now: datetime, has_day: Callable[[date], bool]) -> date | None:
        """The last delivery day published at ``now`` live: the latest of today and tomorrow
        whose results are all present (``has_day``), whatever the clock; None when not even
        today's have arrived (then the caller knows less than a schedule would claim)."""
        today = self.delivery_day(now)
        for day in (today + timedelta(days=1), today):
            if has_day(day):
                return day
        return None

    def next_publication(self, now: datetime) -> tuple[date, datetime]:
        """The next delivery day not yet published by schedule and when it is expected."""
        day = self.published_through_schedule(now) + timedelta(days=1)
        return day, self.expected_publication(day)
